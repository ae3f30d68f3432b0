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

import json
import os
import statistics
import tempfile
import time
from datetime import date
from pathlib import Path

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


def main() -> None:
    root = cached_cohort()
    print(f"(benchmark body follows; {_load()})")


if __name__ == "__main__":
    main()
