"""Import services: a spool, a recording file or an in-memory recording into the database.

Data flows one way per source: read and decode it (:mod:`ingest`) -> analyse it (:mod:`processing`) ->
write it in one transaction (:mod:`storage.writes`). Idempotent by content sha256: a source imported
before is skipped before anything is decoded. A source that cannot be decoded is quarantined (a
``sessions`` row with the reason; the file itself is only ever read). An analysis that fails keeps the
samples (``status = 'imported'``; ``hipsync reprocess`` retries).

Decoding and analysis run before the write connection opens, so readers are blocked only for the few
tens of milliseconds of the write. The stored sets are derived by :func:`flows.edits.label_sets`: the
plan in effect on the session's date as a prior on each set's exercise, and the user's edits. The
Prefect flow ``sync-sessions`` (:mod:`flows.sync_flow`), the CLI (``hipsync sync``, ``hipsync import``)
and the demo call these functions; nothing here needs Prefect.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import processing  # the pipeline (SciPy) itself loads on the first analysis (processing/__init__.py)
from flows.edits import label_sets
from hipsync.records import Recording, RecordingError, SessionAnalysis, Side
from ingest.errors import SensorError
from ingest.files import detect_format, read_recording_file
from ingest.spool.decode import spool_to_recording
from ingest.spool.reader import finished_spools, read_spool, read_spool_header
from storage.db import as_utc
from storage.plan import Plan
from storage.samples import SampleRangeError
from storage.writes import (
    ImportResult,
    ImportStatus,
    Loads,
    SessionImport,
    Source,
    SourceInfo,
    StageHook,
    already_stored_in,
    file_sha256,
    recording_sha256,
    write_plan,
    write_quarantine,
    write_session,
    write_with_retry,
)

log = logging.getLogger(__name__)

__all__ = ["SyncResult", "import_file", "import_recording", "sync_one_spool", "sync_spools"]


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


def _describe(e: BaseException) -> str:
    return f"{type(e).__name__}: {e}"


def _analyse(recording: Recording) -> tuple[SessionAnalysis | None, str | None]:
    try:
        return processing.analyze(recording), None
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
                con,
                info,
                recording,
                analysis,
                analysis_error=error,
                loads=loads,
                labeller=label_sets,
                on_stage=on_stage,
            ),
        )
    except SampleRangeError as e:
        # e.g. raw counts read as g: the samples cannot be stored as they are, the source stays as it is
        reason = str(e)
        return write_with_retry(db_path, lambda con: write_quarantine(con, info, reason))


def _record_plan(db_path: Path, plan: Plan | None) -> None:
    if plan is not None:
        write_plan(db_path, plan)


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
    if analysis is None and (done := already_stored_in(path, info)) is not None:
        return done
    return _store(path, info, recording, analysis=analysis, loads=loads, on_stage=on_stage)


def _mtime(path: Path) -> datetime:
    return datetime.fromtimestamp(path.stat().st_mtime, UTC)


def _spool_info(spool_path: Path, sha: str) -> SourceInfo:
    """What the spool header says (best effort: an unreadable header just yields less metadata)."""
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
        started_at=as_utc(h.host_started_at_utc),
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
    db = Path(db_path)
    sp = Path(spool_path)
    _record_plan(db, plan)
    sha = file_sha256(sp)
    info = _spool_info(sp, sha)
    if (done := already_stored_in(db, info)) is not None:
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
    """Import every finished spool in ``spool_dir`` (see :func:`ingest.spool.reader.finished_spools`).

    Running it twice imports nothing the second time. ``progress(done, total, result)`` is called after
    each spool (the CLI draws a progress bar with it).
    """
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
    (UTC) is the wall-clock time of ``time == 0``; without it the file's own timestamps date it when it
    has them (MEx rows), else its modification time is used (a warning is logged). Undecodable files are
    quarantined; the file itself is never modified.
    A hipsync spool given here is imported as by :func:`sync_one_spool` (it knows its own start time).
    """
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
    info = SourceInfo(
        source=kind,
        content_sha256=sha,
        source_path=str(src),
        started_at=as_utc(started_at) if started_at is not None else _mtime(src),
        profile=kind,
        side=side,
    )
    if (done := already_stored_in(db, info)) is not None:
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
    if started_at is None and rec.started_at is None:
        log.warning(
            "%s: no time in the file and no --started-at; using its modification time %s",
            src,
            info.started_at,
        )
    # The file's own side wins, the caller's fills in; the start: the caller's, else the file's own (a MEx
    # file's rows carry their time), else the file's modification time.
    rec = Recording(
        time_s=rec.time_s,
        accel_g=rec.accel_g,
        gyro_dps=rec.gyro_dps,
        fs_hz=rec.fs_hz,
        side=rec.side or (Side(side) if side else None),
        profile=rec.profile or kind,
        started_at=as_utc(started_at) if started_at is not None else rec.started_at or info.started_at,
    )
    return _store(db, info, rec, loads=loads)
