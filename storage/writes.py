"""Import recordings into the database: spools from the recorder, CSV/Parquet files, in-memory recordings.

Every import is one short write transaction per session: the session row, its samples (bulk-loaded from
Arrow, never row by row), the analysis run, its sets and reps. Either all of it lands or none of it does,
so a crash mid-import leaves nothing behind and the next sync simply imports the session again.

Idempotency: a session is keyed by ``content_sha256``, the sha256 of the source bytes (the spool or the
file). Before decoding anything the key is looked up; a known key is skipped, so running a sync twice
changes nothing. A source that cannot be decoded is *quarantined*: a ``sessions`` row with
``status = 'quarantined'`` and the reason, no samples; the source file is only ever read, never moved,
modified or deleted.

Decoding and analysis (the slow, CPU-bound parts) run before the write connection is opened, so the
database stays available to readers for all but the few tens of milliseconds of the write itself.

The write functions (:func:`write_session`, :func:`write_quarantine`) take records (``Recording``,
``SessionAnalysis``, :class:`SourceInfo`) and a connection, and are usable on hand-built records; only
:func:`sync_spools`, :func:`sync_one_spool` and :func:`import_file` call the decoders and the analysis.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal, TypeVar

import duckdb
import numpy as np

from hipsync.records import ExerciseSet, Recording, RecordingError, SessionAnalysis
from storage.db import connect, retry_conflicts, transaction
from storage.errors import StorageError
from storage.plan import Plan, Resistance, plan_in_effect, record_plan
from storage.samples import SampleRangeError, insert_samples, samples_table

log = logging.getLogger(__name__)

__all__ = [
    "ImportResult",
    "ImportStatus",
    "Loads",
    "SessionImport",
    "SourceInfo",
    "StageHook",
    "SyncResult",
    "file_sha256",
    "import_file",
    "import_recording",
    "recording_sha256",
    "samples_table",
    "sync_one_spool",
    "sync_spools",
    "write_quarantine",
    "write_session",
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


@dataclass(frozen=True, slots=True, kw_only=True)
class SyncResult:
    """Every source a sync looked at, in order, with what happened to it."""

    sessions: tuple[SessionImport, ...] = field(default_factory=tuple)

    def _with(self, status: ImportStatus) -> list[SessionImport]:
        return [s for s in self.sessions if s.status == status]

    @property
    def analysed(self) -> list[SessionImport]:
        return self._with("analysed")

    @property
    def imported(self) -> list[SessionImport]:
        """Newly stored sessions (analysed or samples-only)."""
        return [s for s in self.sessions if s.status in ("analysed", "imported")]

    @property
    def skipped(self) -> list[SessionImport]:
        return self._with("skipped")

    @property
    def quarantined(self) -> list[SessionImport]:
        return self._with("quarantined")

    @property
    def n_samples(self) -> int:
        return sum(s.n_samples for s in self.sessions if s.status != "skipped")


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


def _utc(ts: datetime) -> datetime:
    return ts.replace(tzinfo=UTC) if ts.tzinfo is None else ts.astimezone(UTC)


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
    plan = plan_in_effect(con, started_at)
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
    resolved: Sequence[tuple[Resistance | None, str | None]],
    *,
    on_stage: StageHook | None = None,
) -> tuple[int, int]:
    """Insert one analysis run (current) with its sets and reps; returns ``(n_sets, n_reps)``.

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
    if on_stage:
        on_stage("analysis")
    set_rows: list[list[Any]] = []
    rep_rows: list[list[Any]] = []
    for idx, (s, (res, source)) in enumerate(zip(analysis.sets, resolved, strict=True), start=1):
        set_id = uuid.uuid4().hex
        set_rows.append(
            [
                set_id,
                session_id,
                run_id,
                idx,
                str(s.exercise),
                None if s.side is None else str(s.side),
                float(s.start_s),
                float(s.end_s),
                started_at + timedelta(seconds=float(s.start_s)),
                len(s.reps),
                _finite_or_none(s.velocity_loss),
                _finite_or_none(s.tempo_consistency),
                None if res is None else res.text,
                None if res is None else res.load_value,
                None if res is None else res.load_unit,
                source,
                datetime.now(UTC) if source == "user" else None,
            ]
        )
        for ridx, (r, ph) in enumerate(zip(s.reps, s.tempo(), strict=True), start=1):
            rep_rows.append(
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
            )
    _insert_rows(
        con,
        "INSERT INTO sets (set_id, session_id, run_id, set_index, exercise, side, start_s, end_s, "
        "started_at, n_reps, velocity_loss, tempo_consistency, resistance, load_value, load_unit, "
        "load_source, load_set_at) VALUES ",
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
    return len(set_rows), len(rep_rows)


def write_session(
    con: duckdb.DuckDBPyConnection,
    info: SourceInfo,
    recording: Recording,
    analysis: SessionAnalysis | None,
    *,
    analysis_error: str | None = None,
    loads: Loads | None = None,
    on_stage: StageHook | None = None,
) -> SessionImport:
    """Store one decoded session in ONE transaction (opened here): session, samples, analysis, sets, reps.

    If the same content is already stored (another sync got there first) nothing is written and the
    result is ``skipped``. ``analysis=None`` stores the samples with ``status = 'imported'`` and
    ``analysis_error`` as the reason.
    """
    started = recording.started_at or info.started_at
    if started is None:
        raise StorageError(f"no start time for {info.source_path or 'recording'}: pass started_at")
    started = _utc(started)
    t = recording.time_s
    end_s = float(np.nanmax(t)) if recording.n_samples else 0.0
    table = samples_table(recording)  # built before the transaction: keep the write window short
    with transaction(con):
        skipped = _skip_if_stored(con, info)
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
            resolved = resolve_loads(con, analysis.sets, started, loads)
            n_sets, n_reps = write_analysis(con, session_id, started, analysis, resolved, on_stage=on_stage)
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


def _skip_if_stored(con: duckdb.DuckDBPyConnection, info: SourceInfo) -> SessionImport | None:
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
    started = _utc(info.started_at or datetime.now(UTC))
    with transaction(con):
        skipped = _skip_if_stored(con, info)
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


# ------------------------------------------------------------------------------------------ orchestration


def write_with_retry(db_path: Path, fn: Callable[[duckdb.DuckDBPyConnection], T]) -> T:
    """``fn(con)`` on a fresh writer connection, run again if it lost a write conflict to another thread."""

    def attempt() -> T:
        with connect(db_path) as con:
            return fn(con)

    return retry_conflicts(attempt)


def _describe(e: BaseException) -> str:
    return f"{type(e).__name__}: {e}"


def _already(db_path: Path, info: SourceInfo) -> SessionImport | None:
    """A ``skipped`` result if this content is stored (a short writer connection, also migrating)."""
    with connect(db_path) as con:
        return _skip_if_stored(con, info)


def _analyse(recording: Recording) -> tuple[SessionAnalysis | None, str | None]:
    from processing import analyze

    try:
        return analyze(recording), None
    except Exception as e:  # an analysis bug must not lose the samples: store them, reprocess later
        log.exception("analysis failed; storing samples only")
        return None, f"analysis failed: {_describe(e)}"


def _store(
    db_path: Path,
    info: SourceInfo,
    recording: Recording,
    *,
    analysis: SessionAnalysis | None = None,
    analyse: bool = True,
    loads: Loads | None = None,
    on_stage: StageHook | None = None,
) -> SessionImport:
    error: str | None = None
    if analysis is None and analyse:
        analysis, error = _analyse(recording)
    try:
        return write_with_retry(
            db_path,
            lambda con: write_session(
                con, info, recording, analysis, analysis_error=error, loads=loads, on_stage=on_stage
            ),
        )
    except SampleRangeError as e:
        # e.g. raw counts read as g: the samples cannot be stored as they are, the source stays as it is
        reason = str(e)
        return write_with_retry(db_path, lambda con: write_quarantine(con, info, reason))


def _record_plan(db_path: Path, plan: Plan | None) -> None:
    if plan is None:
        return

    def write(con: duckdb.DuckDBPyConnection) -> None:
        with transaction(con):
            record_plan(con, plan)

    write_with_retry(db_path, write)


def import_recording(
    db_path: Path | str,
    recording: Recording,
    *,
    source: Source = "recording",
    content_sha256: str | None = None,
    started_at: datetime | None = None,
    source_path: str | None = None,
    loads: Loads | None = None,
    plan: Plan | None = None,
    analysis: SessionAnalysis | None = None,
    on_stage: StageHook | None = None,
) -> SessionImport:
    """Store an in-memory recording (e.g. a simulated session) with its analysis.

    ``content_sha256`` defaults to :func:`recording_sha256`; ``started_at`` to ``recording.started_at``.
    ``analysis`` is computed with :func:`processing.analyze` unless given. ``loads`` sets the resistance
    of the analysed sets (by exercise or by set order, stored as ``load_source = 'user'``); sets it does
    not cover take the plan in effect (``plan`` is recorded in the plan history first, if given).
    """
    path = Path(db_path)
    key = content_sha256 or recording_sha256(recording)
    info = SourceInfo(source=source, content_sha256=key, source_path=source_path, started_at=started_at)
    _record_plan(path, plan)
    # With the analysis given there is nothing expensive to skip: the write transaction itself checks.
    if analysis is None and (done := _already(path, info)) is not None:
        return done
    return _store(path, info, recording, analysis=analysis, loads=loads, on_stage=on_stage)


def _spool_info(spool_path: Path, sha: str) -> SourceInfo:
    """What the spool header says (best effort: an unreadable header just yields less metadata)."""
    from ingest.errors import SensorError
    from ingest.spool import read_spool_header

    mtime = datetime.fromtimestamp(spool_path.stat().st_mtime, UTC)
    try:
        h = read_spool_header(spool_path)
    except (SensorError, ValueError, OSError):
        return SourceInfo(source="spool", content_sha256=sha, source_path=str(spool_path), started_at=mtime)
    device_id = h.device_address or (f"{h.profile}:{h.device_name}" if h.device_name else None)
    return SourceInfo(
        source="spool",
        content_sha256=sha,
        source_path=str(spool_path),
        started_at=_utc(h.host_started_at_utc),
        session_id=h.session_id,
        device_id=device_id,
        device_address=h.device_address,
        device_name=h.device_name,
        profile=h.profile,
        side=h.side,
    )


def sync_one_spool(
    db_path: Path | str,
    spool_path: Path | str,
    plan: Plan | None = None,
    *,
    on_stage: StageHook | None = None,
) -> SessionImport:
    """Import one finished spool (idempotent; quarantines it if it cannot be decoded).

    The Prefect flow runs one task per spool with this; ``plan`` is recorded in the plan history first.
    """
    from ingest.errors import SensorError
    from ingest.spool import read_spool, spool_to_recording  # type: ignore[attr-defined,unused-ignore]

    db = Path(db_path)
    sp = Path(spool_path)
    _record_plan(db, plan)
    sha = file_sha256(sp)
    info = _spool_info(sp, sha)
    if (done := _already(db, info)) is not None:
        return done
    try:
        spool = read_spool(sp)
        recording = spool_to_recording(spool)
    except (SensorError, ValueError, OSError, EOFError) as e:
        reason = _describe(e)
        return write_with_retry(db, lambda con: write_quarantine(con, info, reason))
    if spool.truncated_tail:
        log.warning("%s: torn tail (%d bytes) ignored; importing the readable part", sp, spool.tail_bytes)
    if recording.n_samples == 0:
        return write_with_retry(db, lambda con: write_quarantine(con, info, "spool holds no samples"))
    return _store(db, info, recording, on_stage=on_stage)


def sync_spools(
    db_path: Path | str,
    spool_dir: Path | str,
    plan: Plan | None = None,
    *,
    progress: Callable[[int, int, SessionImport], None] | None = None,
) -> SyncResult:
    """Import every finished spool in ``spool_dir`` (see :func:`ingest.spool.finished_spools`).

    Running it twice imports nothing the second time. ``progress(done, total, result)`` is called after
    each spool (the CLI draws a progress bar with it).
    """
    from ingest.spool import finished_spools

    db = Path(db_path)
    _record_plan(db, plan)
    spools = finished_spools(spool_dir)
    results: list[SessionImport] = []
    for i, sp in enumerate(spools, start=1):
        res = sync_one_spool(db, sp)
        results.append(res)
        if progress:
            progress(i, len(spools), res)
    return SyncResult(sessions=tuple(results))


def import_file(
    db_path: Path | str,
    path: Path | str,
    *,
    acc_units: str = "g",
    gyro_units: str = "dps",
    side: str | None = None,
    started_at: datetime | None = None,
    plan: Plan | None = None,
    loads: Loads | None = None,
) -> ImportResult:
    """Import a CSV or Parquet recording from another tool (columns ``time,ax,ay,az[,gx,gy,gz]``).

    ``acc_units``/``gyro_units`` are passed to :func:`ingest.files.read_recording_file`. ``started_at``
    (UTC) is the wall-clock time of ``time == 0``; without it the file's modification time is used
    (a warning is logged). Undecodable files are quarantined; the file itself is never modified.
    A hipsync spool given here is imported as by :func:`sync_one_spool` (it knows its own start time).
    """
    from hipsync.records import Side
    from ingest.errors import SensorError
    from ingest.files import detect_format, read_recording_file

    db = Path(db_path)
    src = Path(path)
    try:
        fmt = detect_format(src)
    except SensorError:
        fmt = "csv"  # unreadable: the read below fails the same way and quarantines it
    if fmt == "spool":
        return sync_one_spool(db, src, plan)
    _record_plan(db, plan)
    sha = file_sha256(src)
    kind: Source = "parquet" if fmt == "parquet" else "csv"
    if started_at is None:
        started_at = datetime.fromtimestamp(src.stat().st_mtime, UTC)
        log.warning("%s: no --started-at given; using the file's modification time %s", src, started_at)
    info = SourceInfo(
        source=kind,
        content_sha256=sha,
        source_path=str(src),
        started_at=_utc(started_at),
        profile=kind,
        side=side,
    )
    if (done := _already(db, info)) is not None:
        return done
    try:
        rec = read_recording_file(src, acc_units=acc_units, gyro_units=gyro_units)
    except (SensorError, RecordingError, OSError) as e:
        # Only problems of the file's content quarantine it; a plain ValueError (an unknown unit the
        # caller passed) is the caller's mistake and propagates.
        reason = _describe(e)
        return write_with_retry(db, lambda con: write_quarantine(con, info, reason))
    if rec.n_samples == 0:
        return write_with_retry(db, lambda con: write_quarantine(con, info, "file holds no samples"))
    # The file's own fields win; the caller's side/start fill what the file does not say.
    rec = Recording(
        time_s=rec.time_s,
        accel_g=rec.accel_g,
        gyro_dps=rec.gyro_dps,
        fs_hz=rec.fs_hz,
        side=rec.side or (Side(side) if side else None),
        profile=rec.profile or kind,
        started_at=rec.started_at or info.started_at,
    )
    return _store(db, info, rec, loads=loads)


def forget_quarantined(db_path: Path | str) -> int:
    """Delete quarantined session rows so the next sync tries their sources again; returns how many."""
    with connect(db_path) as con, transaction(con):
        row = con.execute("SELECT count(*) FROM sessions WHERE status = 'quarantined'").fetchone()
        con.execute("DELETE FROM sessions WHERE status = 'quarantined'")
    return int(row[0]) if row else 0
