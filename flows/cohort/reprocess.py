"""One athlete's re-analysis, as the single-user ``hipsync reprocess`` does it, and what it changed.

:func:`reprocess_athlete` is the unit of work of the ``cohort-reprocess`` flow (one task per athlete): it
calls :func:`flows.reprocess.reprocess` on the athlete's database, so everything the single-user service
does (user loads carried over, corrections applied after each analysis, a failing session keeping its old
analysis) holds for every athlete, and the task is that database's only writer. Each session is swapped
in its own transaction, so a worker killed mid-athlete leaves the sessions before it re-analysed and the
rest untouched; running again finishes the rest (only stale sessions are picked without ``force``).

Nothing here needs Prefect or Dask; the record :class:`AthleteReprocess` carries the work's own timing
and the worker's peak memory, from which the flow and the benchmark compute the scheduler's overhead.
"""

from __future__ import annotations

import logging
import os
import resource
import socket
import sys
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from flows.reprocess import ReprocessResult, reprocess
from storage.sessions import list_sessions

log = logging.getLogger(__name__)

__all__ = ["AthleteReprocess", "CohortReprocess", "reprocess_athlete", "summarize", "warm_up"]

#: ``list_sessions`` limit: every session of an athlete (years of training are a few hundred).
_ALL_SESSIONS = 1_000_000


@dataclass(frozen=True, slots=True, kw_only=True)
class AthleteReprocess:
    """What re-analysing one athlete did and changed.

    Counts are over the sessions re-analysed: sets and reps before and after, sessions whose set or rep
    count changed, failed sessions (they keep their old analysis) with their errors. ``work_s`` is the
    wall time of the work itself (s), ``cpu_s`` its CPU time (s), ``peak_rss_mb`` the worker process's
    peak resident memory so far (MiB), ``worker`` ``host:pid``, ``started_s``/``finished_s`` the work's
    start and end (Unix time, s), from which the gaps between one worker's tasks are measured.
    """

    athlete: str
    sessions: int
    failed: int
    changed: int
    sets_before: int
    sets_after: int
    reps_before: int
    reps_after: int
    kept_user_loads: int
    versions_before: tuple[str, ...]
    version_after: str | None
    errors: tuple[str, ...] = ()
    work_s: float = 0.0
    cpu_s: float = 0.0
    peak_rss_mb: float = 0.0
    worker: str = ""
    started_s: float = 0.0
    finished_s: float = 0.0


def _peak_rss_mb() -> float:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    # Linux reports KiB, macOS bytes.
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


def _cpu_s() -> float:
    t = os.times()
    return t.user + t.system


def _counts(db_path: Path) -> dict[str, tuple[int, int]]:
    """session id -> (sets, reps) as stored now: the current analysis with the user's corrections applied
    (a set the user said had 9 reps counts 9), so before and after compare like with like."""
    return {s.session_id: (s.n_sets, s.n_reps) for s in list_sessions(db_path, limit=_ALL_SESSIONS)}


def _compare(
    athlete: str,
    before: dict[str, tuple[int, int]],
    after: dict[str, tuple[int, int]],
    results: Sequence[ReprocessResult],
) -> AthleteReprocess:
    """What the re-analysis changed: counts over the sessions re-analysed, before and after."""
    ok = [r for r in results if r.error is None]
    old = [before.get(r.session_id, (0, 0)) for r in ok]
    new = [after.get(r.session_id, (0, 0)) for r in ok]
    return AthleteReprocess(
        athlete=athlete,
        sessions=len(ok),
        failed=len(results) - len(ok),
        changed=sum(1 for o, n in zip(old, new, strict=True) if o != n),
        sets_before=sum(o[0] for o in old),
        sets_after=sum(n[0] for n in new),
        reps_before=sum(o[1] for o in old),
        reps_after=sum(n[1] for n in new),
        kept_user_loads=sum(r.kept_user_loads for r in ok),
        versions_before=tuple(sorted({r.old_version or "none" for r in results})),
        version_after=ok[-1].new_version if ok else None,
        errors=tuple(f"{r.session_id[:8]}: {r.error}" for r in results if r.error),
    )


def reprocess_athlete(athlete: str, db_path: Path, *, force: bool = False) -> AthleteReprocess:
    """Re-analyse the athlete's stale sessions (all with ``force``) with :func:`flows.reprocess.reprocess`."""
    t0, c0, started = time.perf_counter(), _cpu_s(), time.time()
    before: dict[str, tuple[int, int]] = {}
    after: dict[str, tuple[int, int]] = {}
    results: list[ReprocessResult] = []
    if db_path.exists():
        before = _counts(db_path)
        results = reprocess(db_path, force=force)
        after = _counts(db_path) if results else before
    return replace(
        _compare(athlete, before, after, results),
        work_s=time.perf_counter() - t0,
        cpu_s=_cpu_s() - c0,
        peak_rss_mb=_peak_rss_mb(),
        worker=f"{socket.gethostname()}:{os.getpid()}",
        started_s=started,
        finished_s=time.time(),
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class CohortReprocess:
    """The whole run: one record per athlete done, the athletes whose task failed (id -> error), timing.

    ``elapsed_s`` is the wall time from the first submission to the last result (s), ``started_s`` the
    first submission (Unix time, s), ``workers`` the Dask worker threads the run saw; ``overhead`` is the
    share of the workers' time not spent in the work (scheduling, Prefect's task engine, transfers, idle
    workers at the end): ``1 - sum(work_s) / (workers * elapsed_s)``.
    """

    athletes: tuple[AthleteReprocess, ...]
    failed_athletes: dict[str, str] = field(default_factory=dict)
    elapsed_s: float = 0.0
    started_s: float = 0.0
    workers: int = 1

    @property
    def sessions(self) -> int:
        return sum(a.sessions for a in self.athletes)

    @property
    def failed_sessions(self) -> int:
        return sum(a.failed for a in self.athletes)

    @property
    def changed(self) -> int:
        return sum(a.changed for a in self.athletes)

    @property
    def work_s(self) -> float:
        return sum(a.work_s for a in self.athletes)

    @property
    def sessions_per_s(self) -> float:
        return self.sessions / self.elapsed_s if self.elapsed_s > 0 else 0.0

    @property
    def overhead(self) -> float | None:
        capacity = self.workers * self.elapsed_s
        return 1.0 - self.work_s / capacity if capacity > 0 else None

    @property
    def peak_rss_mb_by_worker(self) -> dict[str, float]:
        peaks: dict[str, float] = {}
        for a in self.athletes:
            peaks[a.worker] = max(peaks.get(a.worker, 0.0), a.peak_rss_mb)
        return peaks


def summarize(results: Iterable[AthleteReprocess], failed: dict[str, str] | None = None) -> list[str]:
    """Lines saying what changed: totals, then each athlete with changes or failures."""
    rows: Sequence[AthleteReprocess] = list(results)
    failed = failed or {}
    lines = [
        f"{len(rows)} athlete(s), {sum(a.sessions for a in rows)} session(s) re-analysed, "
        f"{sum(a.changed for a in rows)} with different set or rep counts, "
        f"{sum(a.failed for a in rows)} failed (kept their old analysis)"
    ]
    if rows:
        sets = (sum(a.sets_before for a in rows), sum(a.sets_after for a in rows))
        reps = (sum(a.reps_before for a in rows), sum(a.reps_after for a in rows))
        lines.append(f"sets {sets[0]} -> {sets[1]}, reps {reps[0]} -> {reps[1]}")
    for a in rows:
        if a.changed or a.failed:
            lines.append(
                f"{a.athlete}: {a.changed} of {a.sessions} session(s) changed, sets {a.sets_before} -> "
                f"{a.sets_after}, reps {a.reps_before} -> {a.reps_after}"
                + (f"; {a.failed} failed: {'; '.join(a.errors)}" if a.failed else "")
            )
    lines.extend(f"{athlete}: not done: {error}" for athlete, error in sorted(failed.items()))
    return lines


def warm_up() -> int:
    """Import what the work needs (the analysis pipeline with SciPy, DuckDB) in a fresh worker process, so
    the first athlete's timing holds only its own work; returns the worker's process id."""
    import processing

    _ = processing.ALGORITHM_VERSION  # loads processing.pipeline and SciPy
    return os.getpid()
