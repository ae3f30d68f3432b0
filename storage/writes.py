"""Write imported sessions: the session row, its samples, the analysis run, its sets and reps.

Every import is one short write transaction per session (:func:`write_session`): the session row, its
samples (bulk-loaded from Arrow, never row by row), the analysis run, its sets and reps. Either all of it
lands or none of it does, so a crash mid-import leaves nothing behind and the next sync simply imports
the session again.

Idempotency: a session is keyed by ``content_sha256``, the sha256 of the source bytes (the spool or the
file; :func:`file_sha256`, :func:`recording_sha256`). A known key is skipped (:func:`already_stored`), so
importing twice changes nothing. A source that cannot be decoded is *quarantined*
(:func:`write_quarantine`): a ``sessions`` row with ``status = 'quarantined'`` and the reason, no samples.

The functions here take records (``Recording``, ``SessionAnalysis``, :class:`SourceInfo`) and a
connection or a database path; they never decode or analyse. The services that do
(``flows.imports``: spool/file -> decode -> analyse -> these writes) run the slow, CPU-bound parts before
the write connection is opened, so the database stays available to readers for all but the few tens of
milliseconds of the write itself.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal, TypeVar

import duckdb
import numpy as np

from hipsync.records import ExerciseSet, Recording, SessionAnalysis
from storage.db import as_utc, connect, retry_conflicts, transaction
from storage.edits import Labeller, StoredSet, active_edits, as_recognised, record_outcomes, store_run_sets
from storage.errors import StorageError
from storage.plan import Plan, Resistance, plan_in_effect, record_plan
from storage.samples import insert_samples, samples_table

log = logging.getLogger(__name__)

__all__ = [
    "ImportResult",
    "ImportStatus",
    "Loads",
    "SessionImport",
    "Source",
    "SourceInfo",
    "StageHook",
    "UserLoad",
    "already_stored",
    "already_stored_in",
    "carry_user_loads",
    "file_sha256",
    "forget_quarantined",
    "recording_sha256",
    "resolve_loads",
    "user_loads",
    "write_analysis",
    "write_current_sets",
    "write_plan",
    "write_quarantine",
    "write_session",
    "write_with_retry",
]

ImportStatus = Literal["analysed", "imported", "quarantined", "skipped"]
Source = Literal["spool", "csv", "parquet", "recording"]
#: Called inside the write transaction after each stage ("session", "samples", "analysis", "sets", "reps")
#: is written and before COMMIT. Raising from it rolls the whole session back (tests inject crashes here).
StageHook = Callable[[str], None]
#: Loads for the sets of one import: one for all sets (``"band:red"``), by exercise name
#: (``{"clamshell": "band:red"}``) or by set order (a sequence, one entry per analysed set; ``None`` leaves
#: that set to the plan).
Loads = Resistance | str | Mapping[str, Resistance | str] | Sequence[Resistance | str | None]

T = TypeVar("T")
_HASH_BLOCK = 1 << 20


@dataclass(frozen=True, slots=True, kw_only=True)
class SourceInfo:
    """Where a session came from and what is known about it before decoding.

    ``started_at`` is the UTC instant of ``time_s == 0`` (used when the recording does not carry one).
    ``session_id`` is reused from the spool header when free; otherwise a fresh uuid4 hex is drawn.
    """

    source: Source
    content_sha256: str
    source_path: str | None = None
    started_at: datetime | None = None
    session_id: str | None = None
    device_id: str | None = None
    device_address: str | None = None
    device_name: str | None = None
    profile: str | None = None
    side: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class SessionImport:
    """The outcome of importing one source.

    ``status``: ``analysed`` (samples, sets and reps stored), ``imported`` (samples stored, analysis failed:
    ``reason`` says why; ``hipsync reprocess`` retries), ``quarantined`` (undecodable, ``reason``), or
    ``skipped`` (this content was imported before; ``session_id`` is the existing session).
    """

    status: ImportStatus
    session_id: str | None
    content_sha256: str
    source_path: str | None = None
    reason: str | None = None
    started_at: datetime | None = None
    n_samples: int = 0
    n_sets: int = 0
    n_reps: int = 0


ImportResult = SessionImport


# ---------------------------------------------------------------------------------------------- hashing


def file_sha256(path: Path) -> str:
    """sha256 (hex) of a file's bytes, read in 1 MiB blocks."""
    h = hashlib.sha256()
    with path.open("rb") as f:
        while block := f.read(_HASH_BLOCK):
            h.update(block)
    return h.hexdigest()


def recording_sha256(recording: Recording) -> str:
    """A content key for a recording that has no source file: sha256 over its arrays and start time."""
    h = hashlib.sha256()
    h.update(np.ascontiguousarray(recording.time_s, dtype="<f8").tobytes())
    h.update(np.ascontiguousarray(recording.accel_g, dtype="<f8").tobytes())
    if recording.gyro_dps is not None:
        h.update(np.ascontiguousarray(recording.gyro_dps, dtype="<f8").tobytes())
    h.update((recording.started_at.isoformat() if recording.started_at else "").encode())
    return h.hexdigest()


# ----------------------------------------------------------------------------------------------- writes


def _finite_or_none(x: float | None) -> float | None:
    return None if x is None or not math.isfinite(x) else float(x)


def existing_session(con: duckdb.DuckDBPyConnection, content_sha256: str) -> tuple[str, str] | None:
    """``(session_id, status)`` of the session imported from this content, if any."""
    row = con.execute(
        "SELECT session_id, status FROM sessions WHERE content_sha256 = ?", [content_sha256]
    ).fetchone()
    return None if row is None else (str(row[0]), str(row[1]))


def _free_session_id(con: duckdb.DuckDBPyConnection, wanted: str | None) -> str:
    if wanted:
        row = con.execute("SELECT count(*) FROM sessions WHERE session_id = ?", [wanted]).fetchone()
        if row and not row[0]:
            return wanted
    return uuid.uuid4().hex


def _upsert_device(con: duckdb.DuckDBPyConnection, info: SourceInfo) -> None:
    if not info.device_id:
        return
    con.execute(
        "INSERT INTO devices (device_id, address, name, profile, side) VALUES (?, ?, ?, ?, ?) "
        "ON CONFLICT (device_id) DO NOTHING",
        [info.device_id, info.device_address, info.device_name, info.profile or "unknown", info.side],
    )


def resolve_loads(
    con: duckdb.DuckDBPyConnection,
    sets: Sequence[ExerciseSet],
    started_at: datetime,
    loads: Loads | None,
) -> list[tuple[Resistance | None, str | None]]:
    """``(resistance, load_source)`` for each set: explicit ``loads`` first, then the plan in effect.

    Explicit loads are recorded as ``load_source = 'user'`` (the caller knows them, e.g. a log or the
    simulator's ground truth); planned ones as ``'plan'``; sets neither covers get ``(None, None)``.
    """
    return _resolve(plan_in_effect(con, started_at), sets, loads)


def _resolve(
    plan: Plan | None, sets: Sequence[ExerciseSet], loads: Loads | None
) -> list[tuple[Resistance | None, str | None]]:
    out: list[tuple[Resistance | None, str | None]] = []
    for i, s in enumerate(sets):
        given: Resistance | str | None = None
        if isinstance(loads, str | Resistance):
            given = loads  # one resistance for every set
        elif isinstance(loads, Mapping):
            given = loads.get(str(s.exercise))
        elif loads is not None and i < len(loads):
            given = loads[i]
        if given is not None:
            res = given if isinstance(given, Resistance) else Resistance.parse(given)
            out.append((res, "user"))
            continue
        planned = None if plan is None else plan.resistance_for(s.exercise)
        out.append((planned, None if planned is None else "plan"))
    return out


@dataclass(frozen=True, slots=True, kw_only=True)
class UserLoad:
    """A load the user entered (``hipsync log``) for the set that spanned ``start_s``-``end_s`` (s)."""

    start_s: float
    end_s: float
    resistance: str


def user_loads(con: duckdb.DuckDBPyConnection, session_id: str) -> list[UserLoad]:
    """The user-entered loads of a session's current sets, to carry over to the sets that replace them."""
    return [
        UserLoad(start_s=float(a), end_s=float(b), resistance=str(c))
        for a, b, c in con.execute(
            "SELECT start_s, end_s, resistance FROM sets WHERE session_id = ? AND load_source = 'user' "
            "AND resistance IS NOT NULL",
            [session_id],
        ).fetchall()
    ]


def carry_user_loads(
    new_sets: Sequence[ExerciseSet],
    old: Sequence[UserLoad],
    planned: Sequence[tuple[Resistance | None, str | None]],
) -> tuple[list[tuple[Resistance | None, str | None]], int]:
    """Each new set takes the user load of the old set it overlaps most in time (a positive overlap is
    required), else its planned one; returns the loads and how many user loads were kept."""
    out: list[tuple[Resistance | None, str | None]] = []
    kept = 0
    for s, plan_load in zip(new_sets, planned, strict=True):
        best: UserLoad | None = None
        best_overlap = 0.0
        for o in old:
            overlap = min(s.end_s, o.end_s) - max(s.start_s, o.start_s)
            if overlap > best_overlap:
                best, best_overlap = o, overlap
        if best is not None:
            out.append((Resistance.parse(best.resistance), "user"))
            kept += 1
        else:
            out.append(plan_load)
    return out, kept


_ROWS_PER_INSERT = 500


def _insert_rows(con: duckdb.DuckDBPyConnection, insert_sql: str, rows: Sequence[Sequence[Any]]) -> None:
    """``insert_sql`` (ending in ``VALUES``) for many rows, as one multi-row statement per 500 rows.

    A session's tens of sets and hundreds of reps are too few for Arrow, but ``executemany`` runs one
    statement per row (~1 ms each in DuckDB); one ``VALUES (...), (...)`` is over 10x faster.
    """
    for start in range(0, len(rows), _ROWS_PER_INSERT):
        chunk = rows[start : start + _ROWS_PER_INSERT]
        row_sql = "(" + ", ".join("?" * len(chunk[0])) + ")"
        con.execute(insert_sql + ", ".join([row_sql] * len(chunk)), [v for row in chunk for v in row])


def write_analysis(
    con: duckdb.DuckDBPyConnection,
    session_id: str,
    started_at: datetime,
    analysis: SessionAnalysis,
    *,
    loads: Loads | None = None,
    labeller: Labeller | None = None,
    keep_loads: Sequence[UserLoad] = (),
    on_stage: StageHook | None = None,
) -> tuple[int, int, int]:
    """Insert one analysis run (current), its analysed sets, and the sets and reps derived from them
    (:func:`write_current_sets`); returns ``(n_sets, n_reps, user loads kept)``.

    The caller owns the transaction and must first mark older runs of the session not current.
    """
    run_id = uuid.uuid4().hex
    con.execute(
        "INSERT INTO analysis_runs (run_id, session_id, algorithm_version, parameters, quality, is_current) "
        "VALUES (?, ?, ?, ?, ?, TRUE)",
        [
            run_id,
            session_id,
            analysis.algorithm_version,
            json.dumps(analysis.parameters, default=str),
            json.dumps(analysis.quality, default=str),
        ],
    )
    store_run_sets(con, run_id, session_id, analysis.sets)
    if on_stage:
        on_stage("analysis")
    return write_current_sets(
        con,
        session_id,
        run_id,
        started_at,
        analysis.sets,
        loads=loads,
        labeller=labeller,
        keep_loads=keep_loads,
        on_stage=on_stage,
    )


def write_current_sets(
    con: duckdb.DuckDBPyConnection,
    session_id: str,
    run_id: str,
    started_at: datetime,
    base: Sequence[ExerciseSet],
    *,
    loads: Loads | None = None,
    labeller: Labeller | None = None,
    keep_loads: Sequence[UserLoad] = (),
    on_stage: StageHook | None = None,
) -> tuple[int, int, int]:
    """Write the ``sets`` and ``reps`` rows of run ``run_id`` from its analysed sets ``base``; returns
    ``(n_sets, n_reps, user loads kept)``.

    ``labeller`` turns the base, the plan in effect on ``started_at``'s date and the session's active edits
    into the sets to store, and its edit outcomes are recorded; without one the recogniser's labels are
    stored as they are. Loads: ``loads`` (explicit, ``'user'``), else the user load of the ``keep_loads``
    set each new set overlaps most, else the plan's for the set's (shown) exercise. The caller owns the
    transaction and must first delete the session's old ``sets``/``reps`` rows.
    """
    plan = plan_in_effect(con, started_at)
    edits = active_edits(con, session_id)
    labelled = (labeller or as_recognised)(base, plan, edits)
    if labeller is not None:
        record_outcomes(con, labelled.outcomes)
    shown = [st.set for st in labelled.sets]
    resolved, kept = carry_user_loads(shown, keep_loads, _resolve(plan, shown, loads))
    set_rows: list[list[Any]] = []
    rep_rows: list[list[Any]] = []
    for idx, (st, (res, source)) in enumerate(zip(labelled.sets, resolved, strict=True), start=1):
        set_id = uuid.uuid4().hex
        set_rows.append(_set_row(set_id, session_id, run_id, idx, started_at, st, res, source))
        rep_rows.extend(_rep_rows(set_id, session_id, st.set))
    _insert_rows(
        con,
        "INSERT INTO sets (set_id, session_id, run_id, set_index, exercise, side, start_s, end_s, "
        "started_at, n_reps, velocity_loss, tempo_consistency, resistance, load_value, load_unit, "
        "load_source, load_set_at, exercise_source, exercise_confidence, recognised_exercise, "
        "recognised_confidence, corrected) VALUES ",
        set_rows,
    )
    if on_stage:
        on_stage("sets")
    _insert_rows(
        con,
        "INSERT INTO reps (rep_id, session_id, set_id, rep_index, start_s, top_start_s, top_end_s, "
        "end_s, concentric_s, top_hold_s, eccentric_s, bottom_pause_s, rom_deg, partial, "
        "peak_concentric_speed_dps) VALUES ",
        rep_rows,
    )
    if on_stage:
        on_stage("reps")
    return len(set_rows), len(rep_rows), kept


def _set_row(
    set_id: str,
    session_id: str,
    run_id: str,
    idx: int,
    started_at: datetime,
    st: StoredSet,
    res: Resistance | None,
    source: str | None,
) -> list[Any]:
    s = st.set
    return [
        set_id,
        session_id,
        run_id,
        idx,
        str(s.exercise),
        None if s.side is None else str(s.side),
        float(s.start_s),
        float(s.end_s),
        started_at + timedelta(seconds=float(s.start_s)),
        st.n_reps,
        _finite_or_none(s.velocity_loss),
        _finite_or_none(s.tempo_consistency),
        None if res is None else res.text,
        None if res is None else res.load_value,
        None if res is None else res.load_unit,
        source,
        datetime.now(UTC) if source == "user" else None,
        st.exercise_source,
        _finite_or_none(s.exercise_confidence),
        str(st.recognised_exercise),
        _finite_or_none(st.recognised_confidence),
        st.corrected,
    ]


def _rep_rows(set_id: str, session_id: str, s: ExerciseSet) -> list[list[Any]]:
    return [
        [
            uuid.uuid4().hex,
            session_id,
            set_id,
            ridx,
            float(r.start_s),
            float(r.top_start_s),
            float(r.top_end_s),
            float(r.end_s),
            float(ph.concentric_s),
            float(ph.top_hold_s),
            float(ph.eccentric_s),
            _finite_or_none(ph.bottom_pause_s),
            float(r.rom_deg),
            bool(r.partial),
            _finite_or_none(r.peak_concentric_speed_dps),
        ]
        for ridx, (r, ph) in enumerate(zip(s.reps, s.tempo(), strict=True), start=1)
    ]


def write_session(
    con: duckdb.DuckDBPyConnection,
    info: SourceInfo,
    recording: Recording,
    analysis: SessionAnalysis | None,
    *,
    analysis_error: str | None = None,
    loads: Loads | None = None,
    labeller: Labeller | None = None,
    on_stage: StageHook | None = None,
) -> SessionImport:
    """Store one decoded session in ONE transaction (opened here): session, samples, analysis, sets, reps.

    If the same content is already stored (another sync got there first) nothing is written and the
    result is ``skipped``. ``analysis=None`` stores the samples with ``status = 'imported'`` and
    ``analysis_error`` as the reason. ``labeller`` derives the stored sets (see :func:`write_current_sets`).
    """
    started = recording.started_at or info.started_at
    if started is None:
        raise StorageError(f"no start time for {info.source_path or 'recording'}: pass started_at")
    started = as_utc(started)
    t = recording.time_s
    end_s = float(np.nanmax(t)) if recording.n_samples else 0.0
    table = samples_table(recording)  # built before the transaction: keep the write window short
    with transaction(con):
        skipped = already_stored(con, info)
        if skipped is not None:
            return skipped
        session_id = _free_session_id(con, info.session_id)
        _upsert_device(con, info)
        status: ImportStatus = "analysed" if analysis is not None else "imported"
        con.execute(
            "INSERT INTO sessions (session_id, started_at, ended_at, device_id, side, profile, "
            "sample_rate_hz, has_gyro, n_samples, source, source_path, content_sha256, status, "
            "status_reason) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING session_key",
            [
                session_id,
                started,
                started + timedelta(seconds=max(end_s, 0.0)),
                info.device_id,
                str(recording.side) if recording.side is not None else info.side,
                recording.profile or info.profile,
                recording.fs_hz,
                recording.has_gyro,
                recording.n_samples,
                info.source,
                info.source_path,
                info.content_sha256,
                status,
                None if analysis is not None else analysis_error,
            ],
        )
        key_row = con.fetchone()
        assert key_row is not None  # RETURNING of a one-row INSERT
        if on_stage:
            on_stage("session")
        insert_samples(con, int(key_row[0]), table)
        if on_stage:
            on_stage("samples")
        n_sets = n_reps = 0
        if analysis is not None:
            n_sets, n_reps, _ = write_analysis(
                con, session_id, started, analysis, loads=loads, labeller=labeller, on_stage=on_stage
            )
    log.info(
        "stored session %s (%d samples, %d sets, %d reps)", session_id, recording.n_samples, n_sets, n_reps
    )
    return SessionImport(
        status=status,
        session_id=session_id,
        content_sha256=info.content_sha256,
        source_path=info.source_path,
        reason=None if analysis is not None else analysis_error,
        started_at=started,
        n_samples=recording.n_samples,
        n_sets=n_sets,
        n_reps=n_reps,
    )


def already_stored(con: duckdb.DuckDBPyConnection, info: SourceInfo) -> SessionImport | None:
    """The ``skipped`` result when these bytes are already stored (idempotency by content hash), else None."""
    known = existing_session(con, info.content_sha256)
    if known is None:
        return None
    return SessionImport(
        status="skipped",
        session_id=known[0],
        content_sha256=info.content_sha256,
        source_path=info.source_path,
        reason=f"already stored ({known[1]})",
    )


def write_quarantine(con: duckdb.DuckDBPyConnection, info: SourceInfo, reason: str) -> SessionImport:
    """Record an undecodable source as a quarantined session (no samples), in one transaction."""
    started = as_utc(info.started_at or datetime.now(UTC))
    with transaction(con):
        skipped = already_stored(con, info)
        if skipped is not None:
            return skipped
        session_id = _free_session_id(con, info.session_id)
        con.execute(
            "INSERT INTO sessions (session_id, started_at, device_id, side, profile, n_samples, source, "
            "source_path, content_sha256, status, status_reason) "
            "VALUES (?, ?, ?, ?, ?, 0, ?, ?, ?, 'quarantined', ?)",
            [
                session_id,
                started,
                info.device_id,
                info.side,
                info.profile,
                info.source,
                info.source_path,
                info.content_sha256,
                reason,
            ],
        )
    log.warning("quarantined %s: %s", info.source_path or session_id, reason)
    return SessionImport(
        status="quarantined",
        session_id=session_id,
        content_sha256=info.content_sha256,
        source_path=info.source_path,
        reason=reason,
        started_at=started,
    )


# ------------------------------------------------------------------------------------- by database path


def write_with_retry(db_path: Path, fn: Callable[[duckdb.DuckDBPyConnection], T]) -> T:
    """``fn(con)`` on a fresh writer connection, run again if it lost a write conflict to another thread."""

    def attempt() -> T:
        with connect(db_path) as con:
            return fn(con)

    return retry_conflicts(attempt)


def already_stored_in(db_path: Path, info: SourceInfo) -> SessionImport | None:
    """:func:`already_stored` on a short writer connection (which also applies pending migrations)."""
    with connect(db_path) as con:
        return already_stored(con, info)


def write_plan(db_path: Path, plan: Plan) -> None:
    """Record ``plan`` in the plan history, in its own short transaction (retried on write conflicts)."""

    def write(con: duckdb.DuckDBPyConnection) -> None:
        with transaction(con):
            record_plan(con, plan)

    write_with_retry(db_path, write)


def forget_quarantined(db_path: Path | str) -> int:
    """Delete quarantined session rows so the next sync tries their sources again; returns how many."""
    with connect(db_path) as con, transaction(con):
        row = con.execute("SELECT count(*) FROM sessions WHERE status = 'quarantined'").fetchone()
        con.execute("DELETE FROM sessions WHERE status = 'quarantined'")
    return int(row[0]) if row else 0
