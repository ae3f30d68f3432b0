"""A session's sets by number, an exercise's history, and personal records (``hipsync sessions show``,
``hipsync history``, ``hipsync records``, the report's "new records").

Read-only queries through :func:`storage.db.connect_readonly`. Values are put into the SQL as literals
made here (:func:`text_literal`, :func:`timestamp_literal`) rather than bound with ``?``: DuckDB's Python
client imports pandas to inspect every bound parameter, which alone costs 1-3 s, more than the whole
command is allowed (issue 18). Only strings and datetimes of our own types go in, quoted by SQL's one
rule (a quote is doubled); identifiers are constants.

Units: durations and phases in seconds, ROM in degrees, loads in ``load_unit`` (band_level | kg |
bodyweight), volume load = reps x load value (in the same unit), times UTC.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from storage.db import as_utc, connect_readonly
from storage.errors import NotFoundError

__all__ = [
    "HistoryRow",
    "PersonalRecord",
    "SessionDetail",
    "SetDetail",
    "exercise_history",
    "personal_records",
    "record_key",
    "resolve_session_ref",
    "session_detail",
    "text_literal",
    "timestamp_literal",
]

MIN_PREFIX = 6


def text_literal(value: str) -> str:
    """``value`` as a SQL string literal (DuckDB strings have no backslash escapes: quotes are doubled)."""
    if "\x00" in value:
        raise ValueError("text with a NUL character")
    return "'" + value.replace("'", "''") + "'"


def timestamp_literal(value: datetime) -> str:
    """A timezone-aware datetime as a ``TIMESTAMPTZ`` literal (UTC)."""
    return f"TIMESTAMPTZ '{as_utc(value).isoformat()}'"


@dataclass(frozen=True, slots=True, kw_only=True)
class SetDetail:
    """One set as ``hipsync log`` numbers it (``set_index``, 1-based), with its reps' means.

    ``corrected``: the user changed something about it (``hipsync log`` load, or a ``corrected`` column
    where the database has one).
    """

    set_index: int
    exercise: str
    side: str | None
    n_reps: int
    resistance: str | None
    load_source: str | None
    corrected: bool
    concentric_s: float | None
    top_hold_s: float | None
    eccentric_s: float | None
    bottom_pause_s: float | None
    rom_deg: float | None
    velocity_loss: float | None
    duration_s: float


@dataclass(frozen=True, slots=True, kw_only=True)
class SessionDetail:
    """A session and its sets in order."""

    session_id: str
    started_at: datetime
    duration_s: float | None
    status: str
    rpe: float | None
    sets: tuple[SetDetail, ...]


def resolve_session_ref(con: duckdb.DuckDBPyConnection, ref: str) -> str:
    """The session id for ``ref``: a full id, a unique prefix of 6+ characters, or ``last``."""
    ref = ref.strip().lower()
    if ref == "last":
        row = con.execute(
            "SELECT session_id FROM sessions WHERE status <> 'quarantined' ORDER BY started_at DESC LIMIT 1"
        ).fetchone()
        if row is None:
            raise NotFoundError("no sessions stored yet")
        return str(row[0])
    if len(ref) < MIN_PREFIX:
        raise NotFoundError(f"session reference {ref!r} is too short: give at least {MIN_PREFIX} characters")
    rows = con.execute(
        f"SELECT session_id FROM sessions WHERE starts_with(session_id, {text_literal(ref)}) LIMIT 3"
    ).fetchall()
    if not rows:
        raise NotFoundError(f"no session starts with {ref!r} (see `hipsync sessions`)")
    if len(rows) > 1:
        raise NotFoundError(f"{ref!r} matches several sessions; give more characters")
    return str(rows[0][0])


def _has_corrected_column(con: duckdb.DuckDBPyConnection) -> bool:
    row = con.execute(
        "SELECT count(*) FROM information_schema.columns "
        "WHERE table_name = 'sets' AND column_name = 'corrected'"
    ).fetchone()
    return bool(row and row[0])


_SETS_SQL = """
SELECT st.set_index, st.exercise, st.side, st.n_reps, st.resistance, st.load_source, {corrected},
       avg(r.concentric_s), avg(r.top_hold_s), avg(r.eccentric_s), avg(r.bottom_pause_s),
       avg(r.rom_deg) FILTER (WHERE NOT r.partial), st.velocity_loss, st.end_s - st.start_s
FROM sets st LEFT JOIN reps r ON r.set_id = st.set_id
WHERE st.session_id = {sid}
GROUP BY ALL
ORDER BY st.set_index
"""


def session_detail(db_path: Path | str, ref: str) -> SessionDetail:
    """The session ``ref`` names (id, 6+ character prefix, or ``last``) with its sets by number.

    Raises:
        NotFoundError: no database, or no such session.
    """
    with connect_readonly(db_path) as con:
        sid = resolve_session_ref(con, ref)
        head = con.execute(
            "SELECT session_id, started_at, epoch(ended_at) - epoch(started_at), status, rpe "
            f"FROM sessions WHERE session_id = {text_literal(sid)}"
        ).fetchone()
        assert head is not None
        corrected = "coalesce(st.corrected, false)" if _has_corrected_column(con) else "false"
        rows = con.execute(_SETS_SQL.format(corrected=corrected, sid=text_literal(sid))).fetchall()
    sets = tuple(
        SetDetail(
            set_index=int(r[0]),
            exercise=r[1],
            side=r[2],
            n_reps=int(r[3]),
            resistance=r[4],
            load_source=r[5],
            corrected=bool(r[6]) or r[5] == "user",
            concentric_s=r[7],
            top_hold_s=r[8],
            eccentric_s=r[9],
            bottom_pause_s=r[10],
            rom_deg=r[11],
            velocity_loss=r[12],
            duration_s=float(r[13]),
        )
        for r in rows
    )
    return SessionDetail(
        session_id=head[0],
        started_at=head[1].astimezone(UTC),
        duration_s=None if head[2] is None else float(head[2]),
        status=head[3],
        rpe=head[4],
        sets=sets,
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class HistoryRow:
    """One session's work on one exercise: sets, reps, the heaviest resistance, mean ROM (deg), mean time
    under tension per rep (s), and volume load (reps x load value, ``load_unit``)."""

    session_id: str
    started_at: datetime
    n_sets: int
    n_reps: int
    max_reps: int
    resistance: str | None
    load_value: float | None
    load_unit: str | None
    rom_deg: float | None
    tut_s: float | None
    volume_load: float | None


_HISTORY_SQL = """
WITH per_set AS (
    SELECT st.session_id, st.set_id, st.n_reps, st.resistance, st.load_value, st.load_unit,
           avg(r.rom_deg) FILTER (WHERE NOT r.partial) AS rom_deg,
           avg(r.concentric_s + r.top_hold_s + r.eccentric_s) AS tut_s
    FROM sets st LEFT JOIN reps r ON r.set_id = st.set_id
    WHERE st.exercise = {exercise}
    GROUP BY ALL
)
SELECT s.session_id, s.started_at, count(*), sum(p.n_reps), max(p.n_reps),
       arg_max(p.resistance, coalesce(p.load_value, -1)), max(p.load_value),
       arg_max(p.load_unit, coalesce(p.load_value, -1)),
       avg(p.rom_deg), avg(p.tut_s), sum(p.n_reps * p.load_value)
FROM per_set p JOIN sessions s ON s.session_id = p.session_id
WHERE s.status <> 'quarantined' AND s.started_at >= {since}
GROUP BY ALL
ORDER BY s.started_at
"""


def exercise_history(
    db_path: Path | str, exercise: str, *, since: datetime | None = None
) -> list[HistoryRow]:
    """Every session with sets of ``exercise``, oldest first."""
    since = since or datetime(1970, 1, 1, tzinfo=UTC)
    sql = _HISTORY_SQL.format(exercise=text_literal(exercise), since=timestamp_literal(since))
    with connect_readonly(db_path) as con:
        rows = con.execute(sql).fetchall()
    return [
        HistoryRow(
            session_id=r[0],
            started_at=r[1].astimezone(UTC),
            n_sets=int(r[2]),
            n_reps=int(r[3]),
            max_reps=int(r[4]),
            resistance=r[5],
            load_value=r[6],
            load_unit=r[7],
            rom_deg=r[8],
            tut_s=r[9],
            volume_load=r[10],
        )
        for r in rows
    ]


@dataclass(frozen=True, slots=True, kw_only=True)
class PersonalRecord:
    """A best, and when it was first reached.

    ``kind``: ``most_reps`` (in one set, at ``resistance``), ``best_rom`` (mean ROM of a set's full reps,
    deg), ``heaviest`` (load value in ``unit``, its ``resistance``) or ``weekly_volume`` (reps x load value
    in one ISO week, in ``unit``; ``set_at`` is the session that reached it). ``session_id`` is where it
    was set.
    """

    exercise: str
    kind: str
    value: float
    unit: str
    resistance: str | None
    set_at: datetime
    session_id: str


_SET_ROWS_SQL = """
SELECT st.exercise, s.session_id, st.started_at, st.n_reps, st.resistance, st.load_value, st.load_unit,
       avg(r.rom_deg) FILTER (WHERE NOT r.partial) AS rom_deg
FROM sets st JOIN sessions s ON s.session_id = st.session_id LEFT JOIN reps r ON r.set_id = st.set_id
WHERE s.status <> 'quarantined' AND st.exercise <> 'unknown' AND st.started_at < {before}
GROUP BY ALL
ORDER BY st.started_at, any_value(st.set_index)
"""

_Row = tuple[str, str, datetime, int, str | None, float | None, str | None, float | None]


def _keep_first_best(
    best: dict[tuple[str, ...], PersonalRecord], key: tuple[str, ...], rec: PersonalRecord
) -> None:
    """Rows come oldest first: a record is replaced only when beaten, so ``set_at`` is its first date."""
    old = best.get(key)
    if old is None or rec.value > old.value:
        best[key] = rec


def _set_records(rows: list[_Row]) -> dict[tuple[str, ...], PersonalRecord]:
    best: dict[tuple[str, ...], PersonalRecord] = {}
    for exercise, sid, at, n_reps, resistance, load, unit, rom in rows:
        at = at.astimezone(UTC)
        res = resistance or "unknown load"
        _keep_first_best(
            best,
            (exercise, "most_reps", res),
            PersonalRecord(exercise=exercise, kind="most_reps", value=n_reps, unit="reps", resistance=res,
                           set_at=at, session_id=sid),
        )  # fmt: skip
        if rom is not None:
            _keep_first_best(
                best,
                (exercise, "best_rom"),
                PersonalRecord(exercise=exercise, kind="best_rom", value=float(rom), unit="deg",
                               resistance=resistance, set_at=at, session_id=sid),
            )  # fmt: skip
        if load is not None and unit is not None and unit != "bodyweight":
            _keep_first_best(
                best,
                (exercise, "heaviest", unit),
                PersonalRecord(exercise=exercise, kind="heaviest", value=float(load), unit=unit,
                               resistance=resistance, set_at=at, session_id=sid),
            )  # fmt: skip
    return best


def _volume_records(rows: list[_Row]) -> dict[tuple[str, ...], PersonalRecord]:
    """Best ISO-week volume per exercise and unit, dated by the session that brought the week to it."""
    weeks: dict[tuple[str, str, int, int], tuple[float, datetime, str]] = {}
    best: dict[tuple[str, ...], PersonalRecord] = {}
    for exercise, sid, at, n_reps, _res, load, unit, _rom in rows:
        if load is None or unit is None:
            continue
        at = at.astimezone(UTC)
        year, week, _ = at.isocalendar()
        key = (exercise, unit, year, week)
        total = weeks.get(key, (0.0, at, sid))[0] + n_reps * float(load)
        weeks[key] = (total, at, sid)
        _keep_first_best(
            best,
            (exercise, "weekly_volume", unit),
            PersonalRecord(exercise=exercise, kind="weekly_volume", value=total, unit=unit, resistance=None,
                           set_at=at, session_id=sid),
        )  # fmt: skip
    return best


def record_key(rec: PersonalRecord) -> tuple[str, ...]:
    """What a record is a record of: exercise and kind, and the resistance or unit where they matter."""
    if rec.kind == "most_reps":
        return (rec.exercise, rec.kind, rec.resistance or "")
    if rec.kind == "best_rom":
        return (rec.exercise, rec.kind)
    return (rec.exercise, rec.kind, rec.unit)


def personal_records(db_path: Path | str, *, before: datetime | None = None) -> list[PersonalRecord]:
    """Every exercise's records: most reps in a set at each resistance, best ROM, heaviest load (per
    unit), best weekly volume (per unit); each with the date it was first reached. Sorted by exercise.

    ``before``: only sets that started before then (the records as they stood at that moment).
    """
    sql = _SET_ROWS_SQL.format(before=timestamp_literal(before or datetime(9999, 1, 1, tzinfo=UTC)))
    with connect_readonly(db_path) as con:
        rows: list[_Row] = [tuple(r) for r in con.execute(sql).fetchall()]  # type: ignore[misc]
    found = {**_set_records(rows), **_volume_records(rows)}
    order = {"most_reps": 0, "heaviest": 1, "best_rom": 2, "weekly_volume": 3}
    return sorted(found.values(), key=lambda r: (r.exercise, order[r.kind], r.resistance or "", r.unit))
