"""Read-only access to the hipsync database for analysis: notebooks, ad-hoc SQL, plots.

:func:`open_readonly` opens the DuckDB file with ``read_only=True`` (DuckDB allows any number of read-only
processes, but none while a writer holds the file, so it retries briefly) and creates the TEMP views below on
that connection. The views exist only for that connection, so they never change the file. They are documented
for users in ``docs/notebooks.md``; keep that page in step with :data:`VIEW_SQL`.

``v_sessions``
    One row per session: ``sessions`` columns plus ``session_date``, ``iso_week`` (``YYYY-Www``),
    ``duration_s``, ``n_sets``, ``n_reps``, ``volume_load``, ``tut_s`` and the current ``algorithm_version``.
``v_sets``
    One row per set of the current analysis run: ``sets`` columns plus ``session_date``, ``iso_week``,
    ``duration_s``, ``volume_load`` (``n_reps * load_value``, in the set's ``load_unit``), ``tut_s`` and
    per-set medians of the rep phases and ROM.
``v_reps``
    One row per rep of a current set, with the set's ``exercise``, ``side``, ``set_index``, load and the
    session's ``session_date`` / ``iso_week``; ``tut_s = concentric_s + top_hold_s + eccentric_s``.
``v_samples``
    The raw samples in seconds, g and deg/s: ``session_id``, ``t_s``, ``ax_g``, ``ay_g``, ``az_g``,
    ``gx_dps``, ``gy_dps``, ``gz_dps`` (the table ``samples`` stores them as fixed-point integers, see
    :mod:`storage.samples`). Large: filter on ``session_id``.
``v_weekly``
    ISO week x exercise x side: ``n_sessions``, ``n_sets``, ``n_reps``, ``volume_load``, ``tut_s``, medians of
    the phase durations and ROM over full (non-partial) reps.

Dates and ISO weeks follow the connection's time zone (``time_zone``, default UTC), because the database
stores instants (TIMESTAMPTZ) and "which day was that" depends on where the user lives.

Sets of an analysis run that was superseded (``analysis_runs.is_current = FALSE``) are left out of every
view, so re-analysing a session never double-counts it.
"""

from __future__ import annotations

import json
import logging
import time
import zoneinfo
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

import duckdb

from hipsync.records import Exercise, ExerciseSet, Recording, Rep, SessionAnalysis, Side
from storage import paths
from storage.db import as_utc, translate_error
from storage.errors import DatabaseLockedError, NotFoundError, StorageError
from storage.samples import SAMPLES_IN_UNITS_SQL, read_samples

logger = logging.getLogger(__name__)

__all__ = [
    "VIEW_NAMES",
    "VIEW_SQL",
    "DatabaseBusyError",
    "DatabaseNotFoundError",
    "ReadApiError",
    "SchemaMissingError",
    "SessionNotFoundError",
    "create_views",
    "latest_session_id",
    "load_analysis",
    "load_samples",
    "open_readonly",
]


class ReadApiError(StorageError):
    """Root of the errors raised while reading the database for analysis."""


class DatabaseNotFoundError(ReadApiError, NotFoundError, FileNotFoundError):
    """There is no database file yet at ``path``."""

    def __init__(self, path: Path) -> None:
        super().__init__(
            f"no hipsync database at {path}: run `hipsync demo` or `hipsync sync` first "
            "(or point $HIPSYNC_HOME at the directory that holds hipsync.duckdb)"
        )
        self.path = path


class DatabaseBusyError(ReadApiError, DatabaseLockedError):
    """A writer kept the database file locked for longer than ``waited_s`` seconds."""

    def __init__(self, path: Path, waited_s: float, detail: str) -> None:
        DatabaseLockedError.__init__(self, str(path), waited_s, detail)
        # a friendlier message than the generic one: say what is probably going on
        self.args = (
            f"could not open {path} read-only within {waited_s:.1f} s because another process is writing "
            f"to it (a sync or the demo?); try again when it has finished. DuckDB said: {detail}",
        )
        self.path = path


class SchemaMissingError(ReadApiError, LookupError):
    """The file exists but holds no hipsync schema (it was never migrated)."""

    def __init__(self, path: Path, detail: str) -> None:
        self.path = path
        super().__init__(
            f"{path} is not a hipsync database (no hipsync tables): run `hipsync sync` first. ({detail})"
        )


class SessionNotFoundError(ReadApiError, NotFoundError):
    """No session with ``session_id`` in the database."""

    def __init__(self, session_id: str) -> None:
        self.session_id = session_id
        super().__init__(f"no session with id {session_id!r}")


# Backoff while a writer holds the lock: short first waits because most writes (one sync) are brief.
_FIRST_WAIT_S = 0.05
_MAX_WAIT_S = 0.5

# Rows of a superseded analysis run are hidden; a set whose run has no analysis_runs row stays visible.
_CURRENT_SETS = """
    SELECT st.* FROM sets st
    WHERE NOT EXISTS (
        SELECT 1 FROM analysis_runs ar WHERE ar.run_id = st.run_id AND NOT ar.is_current
    )
"""

VIEW_SQL: dict[str, str] = {
    "v_sets": f"""
        WITH cur AS ({_CURRENT_SETS}),
        rep_agg AS (
            SELECT r.set_id,
                   count(*) FILTER (WHERE NOT r.partial)                      AS n_full_reps,
                   count(*) FILTER (WHERE r.partial)                          AS n_partial_reps,
                   sum(r.concentric_s + r.top_hold_s + r.eccentric_s)         AS tut_s,
                   median(r.concentric_s) FILTER (WHERE NOT r.partial)        AS median_concentric_s,
                   median(r.top_hold_s) FILTER (WHERE NOT r.partial)          AS median_top_hold_s,
                   median(r.eccentric_s) FILTER (WHERE NOT r.partial)         AS median_eccentric_s,
                   median(r.bottom_pause_s) FILTER (WHERE NOT r.partial)      AS median_bottom_pause_s,
                   median(r.rom_deg) FILTER (WHERE NOT r.partial)             AS median_rom_deg,
                   max(r.rom_deg)                                             AS max_rom_deg
            FROM reps r GROUP BY r.set_id
        )
        SELECT cur.set_id, cur.session_id, cur.run_id, cur.set_index, cur.exercise, cur.side,
               cur.start_s, cur.end_s, cur.end_s - cur.start_s AS duration_s, cur.started_at,
               CAST(ss.started_at AS DATE)                      AS session_date,
               strftime(ss.started_at, '%G-W%V')                AS iso_week,
               cur.n_reps,
               coalesce(rep_agg.n_full_reps, 0)                 AS n_full_reps,
               coalesce(rep_agg.n_partial_reps, 0)              AS n_partial_reps,
               cur.resistance, cur.load_value, cur.load_unit, cur.load_source,
               cur.n_reps * cur.load_value                      AS volume_load,
               coalesce(rep_agg.tut_s, 0.0)                     AS tut_s,
               rep_agg.median_concentric_s, rep_agg.median_top_hold_s, rep_agg.median_eccentric_s,
               rep_agg.median_bottom_pause_s, rep_agg.median_rom_deg, rep_agg.max_rom_deg,
               cur.velocity_loss, cur.tempo_consistency
        FROM cur
        JOIN sessions ss ON ss.session_id = cur.session_id
        LEFT JOIN rep_agg ON rep_agg.set_id = cur.set_id
    """,
    "v_reps": """
        SELECT r.rep_id, r.session_id, r.set_id, vs.set_index, r.rep_index,
               vs.exercise, vs.side, vs.session_date, vs.iso_week,
               vs.started_at + to_microseconds(CAST(round((r.start_s - vs.start_s) * 1e6) AS BIGINT))
                                                                 AS started_at,
               r.start_s, r.top_start_s, r.top_end_s, r.end_s,
               r.concentric_s, r.top_hold_s, r.eccentric_s, r.bottom_pause_s,
               r.concentric_s + r.top_hold_s + r.eccentric_s     AS tut_s,
               r.rom_deg, r.partial, {peak_speed} AS peak_concentric_speed_dps,
               vs.resistance, vs.load_value, vs.load_unit
        FROM reps r
        JOIN v_sets vs ON vs.set_id = r.set_id
    """,
    "v_sessions": """
        WITH set_agg AS (
            SELECT session_id, count(*) AS n_sets, CAST(sum(n_reps) AS BIGINT) AS n_reps,
                   CASE WHEN count(DISTINCT load_unit) <= 1 THEN sum(volume_load) END AS volume_load,
                   sum(tut_s) AS tut_s
            FROM v_sets GROUP BY session_id
        ),
        run AS (
            SELECT session_id, arg_max(algorithm_version, created_at) AS algorithm_version
            FROM analysis_runs WHERE is_current GROUP BY session_id
        )
        SELECT s.session_id, s.started_at, s.ended_at,
               CAST(s.started_at AS DATE)                              AS session_date,
               strftime(s.started_at, '%G-W%V')                        AS iso_week,
               date_diff('millisecond', s.started_at, s.ended_at) / 1000.0 AS duration_s,
               s.device_id, s.side, s.profile, s.sample_rate_hz, s.has_gyro, s.n_samples,
               s.source, s.source_path, s.status, s.status_reason, s.rpe, s.imported_at,
               coalesce(set_agg.n_sets, 0)                             AS n_sets,
               coalesce(set_agg.n_reps, 0)                             AS n_reps,
               set_agg.volume_load, coalesce(set_agg.tut_s, 0.0)       AS tut_s,
               run.algorithm_version
        FROM sessions s
        LEFT JOIN set_agg ON set_agg.session_id = s.session_id
        LEFT JOIN run ON run.session_id = s.session_id
    """,
    "v_samples": "{samples}",
    "v_weekly": """
        WITH set_level AS (
            SELECT iso_week, exercise, side,
                   min(date_trunc('week', session_date))::DATE          AS week_start,
                   count(DISTINCT session_id)                           AS n_sessions,
                   count(*)                                             AS n_sets,
                   CAST(sum(n_reps) AS BIGINT)                          AS n_reps,
                   -- volume in mixed units (band levels + kg) means nothing, so it is NULL then
                   CASE WHEN count(DISTINCT load_unit) <= 1 THEN sum(volume_load) END AS volume_load,
                   CASE WHEN count(DISTINCT load_unit) = 1 THEN any_value(load_unit)
                        WHEN count(DISTINCT load_unit) > 1 THEN 'mixed' END AS load_unit,
                   max(load_value)                                      AS max_load_value,
                   sum(tut_s)                                           AS tut_s
            FROM v_sets GROUP BY iso_week, exercise, side
        ),
        rep_level AS (
            SELECT iso_week, exercise, side,
                   median(concentric_s)   AS median_concentric_s,
                   median(top_hold_s)     AS median_top_hold_s,
                   median(eccentric_s)    AS median_eccentric_s,
                   median(bottom_pause_s) AS median_bottom_pause_s,
                   median(tut_s)          AS median_rep_tut_s,
                   median(rom_deg)        AS median_rom_deg
            FROM v_reps WHERE NOT partial GROUP BY iso_week, exercise, side
        )
        SELECT s.iso_week, s.week_start, s.exercise, s.side, s.n_sessions, s.n_sets, s.n_reps,
               s.volume_load, s.load_unit, s.max_load_value, s.tut_s,
               r.median_concentric_s, r.median_top_hold_s, r.median_eccentric_s, r.median_bottom_pause_s,
               r.median_rep_tut_s, r.median_rom_deg
        FROM set_level s
        LEFT JOIN rep_level r
          ON r.iso_week = s.iso_week AND r.exercise = s.exercise AND r.side IS NOT DISTINCT FROM s.side
    """,
}
"""SQL of every TEMP view, in creation order (later views read earlier ones).

``{peak_speed}`` is filled in by :func:`create_views`: the column of schema v2, or NULL on a v1 file;
``{samples}`` likewise: :data:`storage.samples.SAMPLES_IN_UNITS_SQL`, or the float columns of a v1/v2 file.
"""
_LEGACY_SAMPLES_SQL = "SELECT session_id, t_s, ax_g, ay_g, az_g, gx_dps, gy_dps, gz_dps FROM samples"

VIEW_NAMES: tuple[str, ...] = tuple(VIEW_SQL)


def _has_column(conn: duckdb.DuckDBPyConnection, table: str, column: str) -> bool:
    """Whether the file's ``main.table`` has ``column`` (views adapt to files of older schema versions)."""
    row = conn.execute(
        "SELECT count(*) FROM duckdb_columns() "
        "WHERE schema_name = 'main' AND table_name = ? AND column_name = ?",
        [table, column],
    ).fetchone()
    return bool(row and row[0])


def create_views(conn: duckdb.DuckDBPyConnection) -> None:
    """Create (or replace) the analysis views as TEMP views on ``conn``; works on read-only connections."""
    has_speed = _has_column(conn, "reps", "peak_concentric_speed_dps")  # schema 2
    peak_speed = "r.peak_concentric_speed_dps" if has_speed else "CAST(NULL AS DOUBLE)"
    fixed_point = _has_column(conn, "samples", "session_key")  # schema 3
    samples = SAMPLES_IN_UNITS_SQL if fixed_point else _LEGACY_SAMPLES_SQL
    for name, sql in VIEW_SQL.items():
        # names and filled-in SQL come from constants in this package, never from the caller
        conn.execute(
            f"CREATE OR REPLACE TEMP VIEW {name} AS {sql.format(peak_speed=peak_speed, samples=samples)}"
        )


def _is_lock_conflict(err: duckdb.Error) -> bool:
    """Another process holds the write lock, or this process has the file open read-write.

    The second case (e.g. a report reading during a sync in the same process) raises a
    ``ConnectionException`` about a "different configuration"; it clears when that connection closes.
    """
    msg = str(err).lower()
    if isinstance(err, duckdb.ConnectionException):
        return "different configuration" in msg
    return (
        isinstance(err, duckdb.IOException) and "lock" in msg and ("conflicting" in msg or "could not" in msg)
    )


def open_readonly(
    db_path: Path | None = None,
    *,
    timeout_s: float = 10.0,
    time_zone: str = "UTC",
) -> duckdb.DuckDBPyConnection:
    """Open the hipsync database read-only, with the ``v_*`` analysis views.

    ``db_path`` defaults to ``$HIPSYNC_HOME/hipsync.duckdb``. While another process holds the write lock the
    open is retried with a short backoff (0.05 s doubling to 0.5 s) for up to ``timeout_s`` seconds.
    ``time_zone`` (an IANA name) decides the calendar day and ISO week of each session in the views.

    Raises :class:`DatabaseNotFoundError` if the file does not exist, :class:`DatabaseBusyError` after
    ``timeout_s`` of lock conflicts, :class:`SchemaMissingError` if the file holds no hipsync tables,
    ``ValueError`` for an unknown time zone.
    Close the connection when done: a writer cannot open the file while it is open.
    """
    path = Path(db_path) if db_path is not None else paths.db_path()
    try:
        zoneinfo.ZoneInfo(time_zone)
        if "'" in time_zone:  # it goes into a SET statement below, which takes no bound parameter
            raise ValueError(time_zone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError) as e:
        raise ValueError(f"unknown time zone {time_zone!r}") from e
    if not path.exists():
        raise DatabaseNotFoundError(path)

    started = time.monotonic()
    deadline = started + timeout_s
    wait_s = _FIRST_WAIT_S
    while True:
        try:
            conn = duckdb.connect(str(path), read_only=True)
            break
        except duckdb.Error as e:
            if not path.exists():
                raise DatabaseNotFoundError(path) from e
            if not _is_lock_conflict(e):
                raise translate_error(e) from e
            now = time.monotonic()
            if now >= deadline:
                raise DatabaseBusyError(path, now - started, str(e)) from e
            logger.debug("database %s is locked by a writer, retrying in %.2f s", path, wait_s)
            time.sleep(min(wait_s, max(deadline - now, 0.0)))
            wait_s = min(wait_s * 2, _MAX_WAIT_S)

    try:
        # validated above (a known IANA name without quotes)
        conn.execute(f"SET TimeZone = '{time_zone}'")
        create_views(conn)
    except duckdb.CatalogException as e:
        conn.close()
        raise SchemaMissingError(path, str(e)) from e
    except duckdb.Error as e:
        conn.close()
        raise translate_error(e) from e
    except BaseException:
        conn.close()
        raise
    return conn


def latest_session_id(conn: duckdb.DuckDBPyConnection, *, with_sets: bool = True) -> str:
    """The id of the most recent session (by ``started_at``); with ``with_sets`` only sessions with sets.

    Falls back to the latest session of any kind when no session has sets.
    Raises :class:`SessionNotFoundError` (with id ``"latest"``) when there are no sessions at all.
    """
    sql = "SELECT session_id FROM v_sessions {where} ORDER BY started_at DESC, session_id LIMIT 1"
    row = conn.execute(sql.format(where="WHERE n_sets > 0" if with_sets else "")).fetchone()
    if row is None and with_sets:
        row = conn.execute(sql.format(where="")).fetchone()
    if row is None:
        raise SessionNotFoundError("latest")
    return str(row[0])


def _as_utc(value: Any) -> datetime | None:
    if value is None:
        return None
    if not isinstance(value, datetime):
        raise TypeError(f"expected a datetime, got {type(value).__name__}")
    return as_utc(value)


def load_samples(
    conn: duckdb.DuckDBPyConnection, session_id: str, *, order: Literal["time", "stored"] = "time"
) -> Recording:
    """The raw samples of one session as a :class:`~hipsync.records.Recording`.

    ``time_s`` in seconds since the session's ``started_at``, sorted (stable where times repeat) or, with
    ``order="stored"``, as recorded (what an analysis must see where the clock stepped back);
    ``accel_g`` (n, 3) in g and ``gyro_dps`` (n, 3) in deg/s, or ``None`` when the session has no gyro (or
    its gyro columns are all NULL). Values are the stored fixed-point ones (see :mod:`storage.samples`).
    """
    meta = conn.execute(
        "SELECT side, profile, sample_rate_hz, has_gyro, started_at, session_key FROM sessions "
        "WHERE session_id = ?",
        [session_id],
    ).fetchone()
    if meta is None:
        raise SessionNotFoundError(session_id)
    side, profile, fs_hz, has_gyro, started_at, session_key = meta
    arrays = read_samples(conn, int(session_key), order=order)
    return Recording(
        time_s=arrays.time_s,
        accel_g=arrays.accel_g,
        gyro_dps=None if has_gyro is False else arrays.gyro_dps,
        fs_hz=float(fs_hz) if fs_hz else None,
        side=_side(side),
        profile=profile,
        started_at=_as_utc(started_at),
    )


def _side(value: str | None) -> Side | None:
    return Side(value) if value in _SIDES else None


_SIDES = frozenset(s.value for s in Side)


def _exercise(value: str) -> Exercise:
    try:
        return Exercise(value)
    except ValueError:
        logger.warning("unknown exercise %r in the database, shown as unknown", value)
        return Exercise.UNKNOWN


def _json(value: Any) -> dict[str, Any]:
    if value is None:
        return {}
    loaded = json.loads(value) if isinstance(value, str) else value
    return dict(loaded) if isinstance(loaded, dict) else {"value": loaded}


def load_analysis(conn: duckdb.DuckDBPyConnection, session_id: str) -> SessionAnalysis:
    """The current stored analysis of one session, rebuilt as a :class:`~hipsync.records.SessionAnalysis`.

    Times are in seconds on the session's time axis (the same axis as :func:`load_samples`).
    ``algorithm_version`` is ``"unknown"`` when the session has no analysis run row.
    """
    if conn.execute("SELECT 1 FROM sessions WHERE session_id = ?", [session_id]).fetchone() is None:
        raise SessionNotFoundError(session_id)
    set_rows = conn.execute(
        "SELECT set_id, run_id, exercise, side, start_s, end_s, velocity_loss, tempo_consistency "
        "FROM v_sets WHERE session_id = ? ORDER BY set_index",
        [session_id],
    ).fetchall()
    rep_rows = conn.execute(
        "SELECT set_id, start_s, top_start_s, top_end_s, end_s, rom_deg, partial, peak_concentric_speed_dps "
        "FROM v_reps WHERE session_id = ? ORDER BY set_index, rep_index",
        [session_id],
    ).fetchall()
    reps_by_set: dict[str, list[Rep]] = {}
    for set_id, start_s, top_start_s, top_end_s, end_s, rom_deg, partial, speed_dps in rep_rows:
        reps_by_set.setdefault(set_id, []).append(
            Rep(
                start_s=start_s,
                top_start_s=top_start_s,
                top_end_s=top_end_s,
                end_s=end_s,
                rom_deg=rom_deg,
                partial=bool(partial),
                peak_concentric_speed_dps=speed_dps,
            )
        )
    sets = tuple(
        ExerciseSet(
            exercise=_exercise(exercise),
            side=_side(side),
            start_s=start_s,
            end_s=end_s,
            reps=tuple(reps_by_set.get(set_id, ())),
            velocity_loss=velocity_loss,
            tempo_consistency=tempo_consistency,
        )
        for set_id, _run, exercise, side, start_s, end_s, velocity_loss, tempo_consistency in set_rows
    )
    run = conn.execute(
        "SELECT algorithm_version, parameters, quality FROM analysis_runs "
        "WHERE session_id = ? AND is_current ORDER BY created_at DESC LIMIT 1",
        [session_id],
    ).fetchone()
    if run is None:
        return SessionAnalysis(sets=sets, algorithm_version="unknown")
    return SessionAnalysis(
        sets=sets, algorithm_version=str(run[0]), parameters=_json(run[1]), quality=_json(run[2])
    )
