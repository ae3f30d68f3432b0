"""``cohort-reprocess`` on Dask under Prefect: every athlete re-analysed, a killed worker loses nothing.

Slow: a Dask cluster of worker processes (each imports Prefect, NumPy, SciPy, DuckDB) and Prefect's test
server; the cluster is this module's (``dask_address``, stopped after it), the server the session's
(``prefect_harness``).
"""

from __future__ import annotations

import json
import os
import signal
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

import processing
from flows.cohort.flow import run_cohort_reprocess
from flows.cohort.layout import find_athletes
from flows.report.model import IsoWeek
from hipsync.cli import app
from storage.report_queries import count_reps
from storage.reprocess import stale_session_ids

pytestmark = [pytest.mark.prefect, pytest.mark.slow]


@pytest.fixture(scope="module")
def dask_address() -> Iterator[str]:
    """The scheduler address of a 2-worker LocalCluster (worker processes, one thread each)."""
    from distributed import LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0") as cluster:
        yield str(cluster.scheduler_address)


def _stale_everywhere(root: Path, make_stale: Callable[[Path], int]) -> int:
    return sum(make_stale(a.db_path) for a in find_athletes(root))


def _all_current(root: Path) -> bool:
    return all(not stale_session_ids(a.db_path, processing.ALGORITHM_VERSION) for a in find_athletes(root))


def test_every_athlete_is_reanalysed_and_the_report_agrees(
    cohort: Path,
    dask_address: str,
    prefect_harness: None,
    make_stale: Callable[[Path], int],
    db_problems: Callable[[Path], list[str]],
    report_week: str,
) -> None:
    stale = _stale_everywhere(cohort, make_stale)
    seen: list[tuple[int, int, str]] = []
    result = run_cohort_reprocess(
        cohort, address=dask_address, on_athlete=lambda done, total, res, who: seen.append((done, total, who))
    )
    assert not result.failed_athletes
    assert [a.athlete for a in result.athletes] == [f"athlete-00{i}" for i in range(1, 5)]
    assert result.sessions == stale and result.failed_sessions == 0 and result.changed == 0
    assert [d for d, _, _ in seen] == [1, 2, 3, 4] and {t for _, t, _ in seen} == {4}
    assert result.workers == 2 and 0.0 <= (result.overhead or 0.0) < 1.0
    assert len({a.worker for a in result.athletes}) >= 1 and all(a.peak_rss_mb > 0 for a in result.athletes)
    assert _all_current(cohort)
    assert all(db_problems(a.db_path) == [] for a in find_athletes(cohort))

    out = CliRunner().invoke(
        app, ["cohort", "report", str(cohort), "--week", report_week, "--format", "json"]
    )
    assert out.exit_code == 0, out.output
    doc = json.loads(out.stdout)
    start, end = IsoWeek.parse(report_week).bounds()
    assert {a["athlete"]: a["reps"] for a in doc["athletes"]} == {
        a.athlete: count_reps(a.db_path, start, end) for a in find_athletes(cohort)
    }


def test_a_worker_killed_mid_run_leaves_every_database_consistent_and_a_rerun_completes(
    cohort: Path,
    dask_address: str,
    prefect_harness: None,
    make_stale: Callable[[Path], int],
    db_problems: Callable[[Path], list[str]],
) -> None:
    from distributed import Client

    stale = _stale_everywhere(cohort, make_stale)
    killed: list[str] = []
    with Client(dask_address) as client:
        pids: dict[str, int] = client.run(os.getpid)

        def kill_a_busy_worker() -> None:
            deadline = time.monotonic() + 180
            while time.monotonic() < deadline and not killed:
                busy = [w for w, tasks in client.processing().items() if tasks and w in pids]
                if busy:
                    time.sleep(1.0)  # into the task: the worker is reading, analysing or writing
                    os.kill(pids[busy[0]], signal.SIGKILL)
                    killed.append(busy[0])
                time.sleep(0.05)

        killer = threading.Thread(target=kill_a_busy_worker, daemon=True)
        killer.start()
        first = run_cohort_reprocess(cohort, address=dask_address)
        killer.join()
    assert killed, "no worker was busy: nothing was killed"
    for a in find_athletes(cohort):
        assert db_problems(a.db_path) == [], a.athlete
    second = run_cohort_reprocess(cohort, address=dask_address)
    assert not second.failed_athletes
    assert _all_current(cohort)
    for a in find_athletes(cohort):
        assert db_problems(a.db_path) == [], a.athlete
    # The sessions the killed task had swapped in before it died are counted by no result (the task's rerun
    # finds them current), so the runs together report at most the stale sessions, never one twice.
    assert 0 < first.sessions + second.sessions <= stale


def test_the_command_runs_a_local_cluster_of_its_own(cohort: Path, prefect_harness: None) -> None:
    out = CliRunner().invoke(
        app, ["cohort", "reprocess", str(cohort), "--workers", "1", "--athlete", "athlete-003", "--force"]
    )
    assert out.exit_code == 0, out.output
    n = len(stale_session_ids(cohort / "athlete-003" / "hipsync.duckdb", "x", force=True))
    assert (
        f"1 athlete(s), {n} session(s) re-analysed, 0 with different set or rep counts, 0 failed"
        in out.stdout
    )
    assert "sessions/s on 1 worker thread(s)" in out.stdout
