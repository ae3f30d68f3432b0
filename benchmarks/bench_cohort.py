"""Cohort re-analysis on Prefect + Dask, and the coach's report over the lake.

What is measured (``uv run python -m benchmarks cohort``):

0. The cohort: 100 athletes x 8 weeks (``flows.cohort.simulate``, seed 2026, weeks from Monday 2026-03-02),
   simulated once into ``$TMPDIR/hipsync-bench/cohort-100x8-s2026-<simulator version>`` on a 2-worker
   Dask LocalCluster; a marker file says it is complete, so re-runs reuse it (delete the folder to start
   again). Set ``HIPSYNC_BENCH_ATHLETES`` / ``HIPSYNC_BENCH_WEEKS`` for a smaller cohort.
1. Baseline in this process: the same per-athlete work (:func:`flows.cohort.reprocess.reprocess_athlete`)
   called in a plain loop on a sample of athletes, no Prefect, no Dask: the cost per session of the work
   itself.
2. ``cohort-reprocess`` with ``--force`` on a LocalCluster of 1 and of 2 worker processes, repeated
   (:data:`REPEATS`, alternating 1 and 2): sessions/s over the run after the cluster is up and warm;
   the speed-up of 2 workers over 1 (best of the repeats each); each worker's peak resident memory;
   the scheduler's overhead: ``1 - sum(work inside the tasks) / (workers x elapsed)``, i.e. the share of
   the workers' time not spent in the work (Prefect's task engine, Dask's scheduling, the tail when one
   worker runs out of athletes), also per task in seconds.
3. The lake: the first full export, then an incremental one with nothing changed.
4. The report over the lake for the last week (DuckDB + rules + HTML/Markdown/JSON), in a process that
   already has Prefect's server up, median of 5; and the same from inside a ``cohort-report``-style Prefect
   task to show what the flow adds.
5. A projection to 10,000 athletes on 20 workers from the measured per-session cost (printed, and written
   up in docs/cohort.md).

The machine's load average is printed before and after each timed part: the machine is shared, and a
speed-up measured while other processes take a core says more about them than about us.
"""

from __future__ import annotations

import itertools
import json
import os
import statistics
import tempfile
import time
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from flows.cohort.reprocess import AthleteReprocess, CohortReprocess

ATHLETES = int(os.environ.get("HIPSYNC_BENCH_ATHLETES", "100"))
WEEKS = int(os.environ.get("HIPSYNC_BENCH_WEEKS", "8"))
SEED = 2026
START = date(2026, 3, 2)
REPEATS = 2
BASELINE_ATHLETES = 6
MARKER = "benchmark-cohort.json"


def _load() -> str:
    one, five, _ = os.getloadavg()
    return f"load average {one:.2f} (1 min), {five:.2f} (5 min) on {os.cpu_count()} cores"


def cohort_dir() -> Path:
    from simulate import SIMULATOR_VERSION

    base = Path(os.environ.get("HIPSYNC_BENCH_CACHE", Path(tempfile.gettempdir()) / "hipsync-bench"))
    return base / f"cohort-{ATHLETES}x{WEEKS}-s{SEED}-{SIMULATOR_VERSION}"


def cached_cohort() -> Path:
    """The benchmark cohort, simulated on the first run only."""
    from flows.cohort.simulate import simulate_cohort

    root = cohort_dir()
    marker = root / MARKER
    if marker.exists():
        print(f"cohort: cached in {root}")
        return root
    print(f"cohort: simulating {ATHLETES} athletes x {WEEKS} weeks into {root} (once; {_load()})", flush=True)
    t0 = time.perf_counter()

    def progress(stage: str, done: int, total: int, message: str) -> None:
        if stage == "athletes" and (done % 10 == 0 or done == total):
            print(f"  {done}/{total} athletes ({time.perf_counter() - t0:.0f} s): {message}", flush=True)

    done = simulate_cohort(root, ATHLETES, WEEKS, seed=SEED, start=START, workers=2, progress=progress)
    facts = {
        "athletes": len(done),
        "weeks": WEEKS,
        "sessions": sum(a.imported + a.skipped for a in done),
        "simulated_s": round(time.perf_counter() - t0, 1),
    }
    marker.write_text(json.dumps(facts, indent=2), encoding="utf-8")
    print(f"cohort: {facts['sessions']} sessions simulated and imported in {facts['simulated_s']:.0f} s")
    return root


def _prepare(root: Path) -> None:
    """Bring every athlete's database to the current schema before anything is timed (a cohort simulated
    by an older hipsync migrates on its first writer connection, once)."""
    import processing
    from flows.cohort.layout import find_athletes
    from storage.reprocess import stale_session_ids

    t0 = time.perf_counter()
    stale = sum(len(stale_session_ids(a.db_path, processing.ALGORITHM_VERSION)) for a in find_athletes(root))
    print(
        f"databases at the current schema ({time.perf_counter() - t0:.0f} s); {stale} sessions analysed "
        f"by an older version than {processing.ALGORITHM_VERSION}",
        flush=True,
    )


def _baseline(root: Path) -> tuple[float, float, int]:
    """The per-athlete work in a plain loop in this process: (wall s and CPU s per session, sessions)."""
    from flows.cohort.layout import find_athletes
    from flows.cohort.reprocess import reprocess_athlete, warm_up

    warm_up()
    athletes = find_athletes(root)[:BASELINE_ATHLETES]
    done = [reprocess_athlete(a.athlete, a.db_path, force=True) for a in athletes]
    n = sum(r.sessions for r in done)
    return sum(r.work_s for r in done) / n, sum(r.cpu_s for r in done) / n, n


@dataclass(frozen=True, slots=True, kw_only=True)
class Gaps:
    """Where the workers' time outside the work went (s): before each worker's first task (submission,
    unpickling, Prefect's task engine starting), between one worker's consecutive tasks (Prefect's task
    engine and Dask's dispatch, per task), and idle at the end waiting for the others (summed)."""

    first_s: float
    between_s: float
    tail_s: float


def _gaps(run: CohortReprocess) -> Gaps:
    by_worker: dict[str, list[AthleteReprocess]] = {}
    for a in run.athletes:
        by_worker.setdefault(a.worker, []).append(a)
    first: list[float] = []
    between: list[float] = []
    tail = 0.0
    end = run.started_s + run.elapsed_s
    for tasks in by_worker.values():
        tasks.sort(key=lambda a: a.started_s)
        first.append(tasks[0].started_s - run.started_s)
        between += [b.started_s - a.finished_s for a, b in itertools.pairwise(tasks)]
        tail += end - tasks[-1].finished_s
    return Gaps(
        first_s=statistics.fmean(first),
        between_s=statistics.fmean(between) if between else 0.0,
        tail_s=tail,
    )


def _run(root: Path, workers: int) -> CohortReprocess:
    from flows.cohort.flow import run_cohort_reprocess

    t0 = time.perf_counter()
    run = run_cohort_reprocess(root, workers=workers, force=True)
    total = time.perf_counter() - t0
    g = _gaps(run)
    peaks = ", ".join(f"{mb:.0f}" for mb in sorted(run.peak_rss_mb_by_worker.values()))
    per_task = run.work_s / len(run.athletes)
    print(
        f"  {workers} worker(s): {run.sessions} sessions of {len(run.athletes)} athletes in "
        f"{run.elapsed_s:.1f} s = {run.sessions_per_s:.2f} sessions/s (with cluster start-up {total:.0f} s); "
        f"work {run.work_s:.1f} s ({per_task:.2f} s per athlete task, {run.work_s / run.sessions:.3f} s per "
        f"session); overhead {run.overhead:.1%} of the workers' time: first task after {g.first_s:.1f} s, "
        f"then {g.between_s * 1000:.0f} ms between tasks ({g.between_s / per_task:.1%} of a task's work), "
        f"idle tail {g.tail_s:.1f} s; {run.changed} sessions changed sets or reps; peak RSS per worker "
        f"{peaks} MiB; {_load()}",
        flush=True,
    )
    if run.failed_athletes:
        print(f"  ! {len(run.failed_athletes)} athlete(s) failed: {run.failed_athletes}")
    return run


def _one_session_changed(root: Path, lake: Path) -> None:
    """Re-analyse one session of one athlete (new set and rep ids), then export: what an incremental
    export costs when one athlete has something new."""
    from flows.cohort.lake import export_lake
    from flows.cohort.layout import find_athletes
    from flows.reprocess import reprocess
    from storage.reprocess import stale_session_ids

    athlete = find_athletes(root)[0]
    session = stale_session_ids(athlete.db_path, "", force=True)[-1]
    reprocess(athlete.db_path, session_ids=[session])
    t0 = time.perf_counter()
    done = export_lake(root, lake)
    print(
        f"lake: after one session of {athlete.athlete} was re-analysed {time.perf_counter() - t0:.2f} s "
        f"({done.written} athlete partition file(s) written, {done.removed} removed, {done.by_week} by-week "
        f"file(s) rebuilt, {done.unchanged} athletes unchanged)"
    )


def _report_timings(root: Path, lake: Path) -> None:
    from flows.cohort.flow import cohort_report
    from flows.cohort.lake import export_lake
    from flows.cohort.render import write_cohort_report
    from flows.cohort.report import compute_cohort_report
    from flows.report.model import IsoWeek

    t0 = time.perf_counter()
    first = export_lake(root, lake)
    t1 = time.perf_counter()
    again = export_lake(root, lake)
    t2 = time.perf_counter()
    size = sum(p.stat().st_size for p in lake.rglob("*.parquet"))
    print(
        f"lake: first export {t1 - t0:.1f} s ({first.written} files, {size / 1e6:.1f} MB); "
        f"again with nothing changed {t2 - t1:.2f} s ({again.written} written, "
        f"{again.unchanged} athletes unchanged)"
    )
    _one_session_changed(root, lake)
    week = IsoWeek.of(START).shift(WEEKS - 1)
    compute, full = [], []
    out = lake.parent / "reports"
    for _ in range(5):
        a = time.perf_counter()
        report = compute_cohort_report(lake, week)
        b = time.perf_counter()
        write_cohort_report(report, out)
        compute.append(b - a)
        full.append(time.perf_counter() - a)
    print(
        f"report {week} over the lake, {len(report.athletes)} athletes: compute (DuckDB + rules) median "
        f"{statistics.median(compute) * 1000:.0f} ms (first {compute[0] * 1000:.0f} ms); with HTML, Markdown "
        f"and JSON written {statistics.median(full) * 1000:.0f} ms; target < 1000 ms; {_load()}"
    )
    a = time.perf_counter()
    cohort_report(root=str(root), week=str(week), lake=str(lake), out=str(out))
    print(
        f"the cohort-report flow (export check + report, two Prefect tasks): {time.perf_counter() - a:.2f} s"
    )


def _projection(per_session_s: float, sessions_per_athlete: float, gap_s: float, efficiency: float) -> None:
    athletes, workers = 10_000, 20
    sessions = athletes * sessions_per_athlete
    hours = (sessions * per_session_s + athletes * gap_s) / (workers * efficiency) / 3600
    print(
        f"projection: {athletes} athletes x {WEEKS} weeks = {sessions:,.0f} sessions at "
        f"{per_session_s:.3f} s each + {gap_s * 1000:.0f} ms per athlete task, on {workers} workers at "
        f"{efficiency:.0%} efficiency: about {hours:.1f} h (docs/cohort.md)"
    )


def main() -> None:
    from flows.serve import PrefectServer

    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
    os.environ.setdefault("DASK_LOGGING__DISTRIBUTED", "warning")
    root = cached_cohort()
    print(
        f"{_load()}; Dask workers inherit PYTHONDONTWRITEBYTECODE={os.environ.get('PYTHONDONTWRITEBYTECODE')}"
    )
    server = PrefectServer()  # starts in the background while the baseline runs
    _prepare(root)
    wall, cpu, n = _baseline(root)
    print(
        f"baseline, the work in a plain loop (no Prefect, no Dask): {n} sessions of {BASELINE_ATHLETES} "
        f"athletes, {wall:.3f} s wall and {cpu:.3f} s CPU per session = {1 / wall:.2f} sessions/s; {_load()}",
        flush=True,
    )
    runs: dict[int, list[CohortReprocess]] = {1: [], 2: []}
    with server:
        print(f"cohort-reprocess --force, {REPEATS} x (1 worker, 2 workers), alternating:")
        for _ in range(REPEATS):
            for workers in (1, 2):
                runs[workers].append(_run(root, workers))
        best = {w: max(r.sessions_per_s for r in rs) for w, rs in runs.items()}
        print(
            f"1 worker against the plain loop: {best[1]:.2f} against {1 / wall:.2f} sessions/s "
            f"({best[1] * wall - 1:+.1%}: Prefect, Dask and the worker process together; the loop ran while "
            "Prefect's server was starting)"
        )
        print(
            f"speed-up at 2 workers: {best[2] / best[1]:.2f}x (best of {REPEATS} each: {best[1]:.2f} -> "
            f"{best[2]:.2f} sessions/s; every pair: "
            + ", ".join(
                f"{b.sessions_per_s / a.sessions_per_s:.2f}x" for a, b in zip(runs[1], runs[2], strict=True)
            )
            + "; target >= 1.7x)"
        )
        with tempfile.TemporaryDirectory(prefix="hipsync-bench-lake-") as tmp:
            _report_timings(root, Path(tmp) / "lake")
    one = max(runs[1], key=lambda r: r.sessions_per_s)
    two = max(runs[2], key=lambda r: r.sessions_per_s)
    _projection(
        per_session_s=one.work_s / one.sessions,
        sessions_per_athlete=one.sessions / len(one.athletes),
        gap_s=_gaps(two).between_s,
        efficiency=1 - (two.overhead or 0.0),
    )


if __name__ == "__main__":
    main()
