"""The ``cohort-reprocess`` Prefect flow: every athlete's re-analysis as a task on a Dask cluster.

One task per athlete (:func:`flows.cohort.reprocess.reprocess_athlete`), submitted through
``prefect-dask``'s ``DaskTaskRunner``: to a ``LocalCluster`` of ``workers`` single-threaded processes, or to
the running cluster at ``address`` (``dask scheduler`` + ``dask worker``, docs/cohort.md). A task is the
only writer of its athlete's database, and each session is swapped in its own transaction.

When a worker dies mid-task, Dask's scheduler runs the task again on another worker (up to
``distributed.scheduler.allowed-failures`` times, 3 by default); the rerun re-analyses what is still stale.
A task that fails on a transient error (a database locked by someone else) is retried by Prefect
(:func:`flows.tasks.io_task`). An athlete whose task still fails is reported in
``CohortReprocess.failed_athletes``; running the flow again completes it.

Larger athletes (bigger database files) are submitted first, so the run does not end waiting for one
long task. The cluster is started and warmed up (imports) before the clock of ``elapsed_s`` starts, so
``CohortReprocess.overhead`` measures the scheduling per task, not the cluster's start-up.
"""

from __future__ import annotations

import contextvars
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from prefect import flow, get_run_logger
from prefect.context import get_run_context
from prefect.futures import PrefectFuture, as_completed

from flows.cohort.lake import export_lake
from flows.cohort.layout import DEFAULT_LAKE, Athlete, find_athletes
from flows.cohort.render import FORMATS, write_cohort_report
from flows.cohort.report import compute_cohort_report
from flows.cohort.reprocess import AthleteReprocess, CohortReprocess, reprocess_athlete, summarize, warm_up
from flows.report.model import IsoWeek
from flows.tasks import io_task

__all__ = ["OnAthlete", "cohort_report", "cohort_reprocess", "dask_task_runner", "run_cohort_reprocess"]

#: Called after each athlete: (athletes finished, athletes in the run, the athlete's result or None when its
#: task failed, the athlete's id).
OnAthlete = Callable[[int, int, AthleteReprocess | None, str], None]

_ON_ATHLETE: contextvars.ContextVar[OnAthlete | None] = contextvars.ContextVar("on_athlete", default=None)
#: How long to wait for a cluster's first worker (s).
WORKER_WAIT_S = 120.0


@io_task("reprocess-athlete", task_run_name="reprocess {athlete}")
def reprocess_athlete_task(athlete: str, db_path: Path, force: bool = False) -> AthleteReprocess:
    """Re-analyse one athlete's sessions (the only writer of ``db_path`` while it runs)."""
    return reprocess_athlete(athlete, db_path, force=force)


def _size(a: Athlete) -> int:
    return a.db_path.stat().st_size if a.db_path.exists() else 0


def _dask_client() -> Any:
    """The Dask client of the running flow's task runner, or None under another task runner."""
    runner = getattr(get_run_context(), "task_runner", None)
    return getattr(runner, "client", None)


def _ready_slots() -> int:
    """Start the cluster (if the runner makes one), wait for a worker, import the work's modules on every
    worker; returns the worker threads available (1 without Dask)."""
    client = _dask_client()
    if client is None:
        return 1
    client.wait_for_workers(1, timeout=WORKER_WAIT_S)
    client.run(warm_up)
    return max(1, sum(int(w["nthreads"]) for w in client.scheduler_info()["workers"].values()))


def _listener() -> OnAthlete | None:
    # A function rather than the ContextVar inside the flow: Dask pickles the flow (its code and the globals
    # it names) with every task's context, and a ContextVar cannot be pickled.
    return _ON_ATHLETE.get()


def _describe(e: BaseException) -> str:
    return f"{type(e).__name__}: {e}"


@flow(name="cohort-reprocess", log_prints=False)
def cohort_reprocess(root: str, force: bool = False, athletes: list[str] | None = None) -> CohortReprocess:
    """Re-analyse the stale sessions (all with ``force``) of every athlete under ``root``, one task each.

    ``athletes`` limits the run to these ids. Returns what was done, per athlete, with the timing.
    """
    logger = get_run_logger()
    found = find_athletes(Path(root), tuple(athletes) if athletes else None)
    found.sort(key=_size, reverse=True)
    slots = _ready_slots()
    on_athlete = _listener()
    t0, started = time.perf_counter(), time.time()
    futures: dict[PrefectFuture[AthleteReprocess], str] = {
        reprocess_athlete_task.submit(a.athlete, a.db_path, force): a.athlete for a in found
    }
    done: list[AthleteReprocess] = []
    failed: dict[str, str] = {}
    for fut in as_completed(list(futures)):
        athlete = futures[fut]
        res: AthleteReprocess | None = None
        try:
            res = fut.result()
        except Exception as e:  # a failed athlete must not stop the others; a re-run completes it
            failed[athlete] = _describe(e)
            logger.warning("%s: not done: %s", athlete, failed[athlete])
        if res is not None:
            done.append(res)
            logger.info(
                "%s: %d session(s), %d changed, %.1f s", athlete, res.sessions, res.changed, res.work_s
            )
        if on_athlete is not None:
            on_athlete(len(done) + len(failed), len(found), res, athlete)
    result = CohortReprocess(
        athletes=tuple(sorted(done, key=lambda a: a.athlete)),
        failed_athletes=failed,
        elapsed_s=time.perf_counter() - t0,
        started_s=started,
        workers=slots,
    )
    for line in summarize(result.athletes, failed):
        logger.info(line)
    return result


def dask_task_runner(workers: int | None = None, address: str | None = None) -> Any:
    """A ``DaskTaskRunner``: on the cluster at ``address``, else on a new ``LocalCluster`` of ``workers``
    single-threaded worker processes (default 2)."""
    # Imported here: prefect_dask imports distributed, which only the cohort commands need.
    from prefect_dask.task_runners import DaskTaskRunner

    if address is not None:
        return DaskTaskRunner(address=address)
    return DaskTaskRunner(
        cluster_kwargs={
            "n_workers": workers or 2,
            "threads_per_worker": 1,
            "processes": True,
            "dashboard_address": ":0",
        }
    )


@contextmanager
def _reporting(on_athlete: OnAthlete | None) -> Iterator[None]:
    token = _ON_ATHLETE.set(on_athlete)
    try:
        yield
    finally:
        _ON_ATHLETE.reset(token)


def run_cohort_reprocess(
    root: Path,
    *,
    workers: int | None = None,
    address: str | None = None,
    force: bool = False,
    athletes: list[str] | None = None,
    on_athlete: OnAthlete | None = None,
) -> CohortReprocess:
    """Run :func:`cohort_reprocess` on Dask (see :func:`dask_task_runner`), calling ``on_athlete`` after
    each athlete. Prefect must be reachable (``PREFECT_API_URL``, or ``flows.serve.PrefectServer``)."""
    runner = dask_task_runner(workers, address)
    with _reporting(on_athlete):
        result: CohortReprocess = cohort_reprocess.with_options(task_runner=runner)(
            root=str(root), force=force, athletes=athletes
        )
    return result


@io_task("export-lake")
def export_lake_task(root: Path, lake_dir: Path) -> int:
    """Bring the lake up to date (incremental); returns the files written."""
    return export_lake(root, lake_dir).written


@io_task("cohort-report-files", task_run_name="cohort report {week}")
def cohort_report_task(lake_dir: Path, week: str, out_dir: Path) -> dict[str, str]:
    """Compute the report over the lake and write it; returns format -> path."""
    report = compute_cohort_report(lake_dir, IsoWeek.parse(week))
    return {fmt: str(p) for fmt, p in write_cohort_report(report, out_dir, FORMATS).items()}


@flow(name="cohort-report", log_prints=False)
def cohort_report(
    root: str, week: str | None = None, lake: str | None = None, out: str | None = None
) -> dict[str, str]:
    """The lake brought up to date, then the coach's report for ISO ``week`` (default: the last complete
    week) under ``out`` (default ``ROOT/_reports``); returns format -> path. Runs in the flow's process
    (both steps are I/O on the lake; no cluster needed)."""
    base = Path(root)
    lake_dir = Path(lake) if lake else base / DEFAULT_LAKE
    written = export_lake_task(base, lake_dir)
    iso = str(IsoWeek.parse(week) if week else IsoWeek.last_complete())
    paths = cohort_report_task(lake_dir, iso, Path(out) if out else base / "_reports")
    get_run_logger().info("cohort report %s (%d lake file(s) written first): %s", iso, written, paths["html"])
    return paths
