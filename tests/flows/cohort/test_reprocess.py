"""One athlete's re-analysis through the single-user service, what it reports, and the run's summary."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import duckdb

import processing
from flows.cohort.reprocess import AthleteReprocess, CohortReprocess, reprocess_athlete, summarize
from flows.edits import correct_reps
from storage.sessions import list_sessions, log_session


def test_stale_sessions_are_reanalysed_and_a_second_run_finds_nothing(
    cohort: Path, make_stale: Callable[[Path], int], db_problems: Callable[[Path], list[str]]
) -> None:
    db = cohort / "athlete-001" / "hipsync.duckdb"
    before = list_sessions(db)
    stale = make_stale(db)
    res = reprocess_athlete("athlete-001", db)
    assert res.sessions == stale == len(before) and res.failed == 0
    assert res.versions_before == ("old-0",) and res.version_after == processing.ALGORITHM_VERSION
    # The same analyzer on the same samples: the same sets and reps, nothing changed.
    assert (res.sets_before, res.reps_before) == (res.sets_after, res.reps_after)
    assert res.sets_after == sum(s.n_sets for s in before) and res.changed == 0
    assert res.work_s > 0 and res.peak_rss_mb > 10 and ":" in res.worker
    assert db_problems(db) == []
    again = reprocess_athlete("athlete-001", db)
    assert again.sessions == 0 and again.version_after is None


def test_a_load_the_user_corrected_survives_a_forced_reanalysis(cohort: Path) -> None:
    db = cohort / "athlete-003" / "hipsync.duckdb"
    first = list_sessions(db)[-1]
    log_session(db, first.session_id, 1, load="band:black")
    res = reprocess_athlete("athlete-003", db, force=True)
    assert res.sessions == len(list_sessions(db)) and res.kept_user_loads >= 1
    with duckdb.connect(str(db), read_only=True) as con:
        row = con.execute(
            "SELECT resistance, load_source FROM sets WHERE session_id = ? AND set_index = 1",
            [first.session_id],
        ).fetchone()
    assert row == ("band:black", "user")


def test_a_rep_count_the_user_corrected_survives_and_is_no_change(cohort: Path) -> None:
    db = cohort / "athlete-002" / "hipsync.duckdb"
    last = list_sessions(db)[0]
    correct_reps(db, last.session_id, 1, 3)
    res = reprocess_athlete("athlete-002", db, force=True)
    # Before and after count the corrected set as the user said: the analysis found the same reps.
    assert res.changed == 0 and res.reps_before == res.reps_after
    with duckdb.connect(str(db), read_only=True) as con:
        row = con.execute(
            "SELECT n_reps, corrected FROM sets WHERE session_id = ? AND set_index = 1", [last.session_id]
        ).fetchone()
    assert row == (3, True)


def test_an_athlete_without_a_database_is_done_with_nothing(tmp_path: Path) -> None:
    res = reprocess_athlete("nobody", tmp_path / "hipsync.duckdb")
    assert (res.sessions, res.failed, res.version_after) == (0, 0, None)
    assert not (tmp_path / "hipsync.duckdb").exists()


def _result(
    athlete: str, *, changed: int = 0, failed: int = 0, work_s: float = 1.0, worker: str = "w:1"
) -> AthleteReprocess:
    return AthleteReprocess(
        athlete=athlete,
        sessions=4,
        failed=failed,
        changed=changed,
        sets_before=12,
        sets_after=12 + changed,
        reps_before=120,
        reps_after=120 + 3 * changed,
        kept_user_loads=0,
        versions_before=("old-0",),
        version_after="new-1",
        errors=("abcd1234: ValueError: bad",) * failed,
        work_s=work_s,
        peak_rss_mb=100.0 + work_s,
        worker=worker,
    )


def test_the_summary_names_what_changed_and_what_failed() -> None:
    lines = summarize(
        [_result("a"), _result("b", changed=2), _result("c", failed=1)], {"d": "KilledWorker: x"}
    )
    assert lines[0] == (
        "3 athlete(s), 12 session(s) re-analysed, 2 with different set or rep counts, "
        "1 failed (kept their old analysis)"
    )
    assert lines[1] == "sets 36 -> 38, reps 360 -> 366"
    assert any(line.startswith("b: 2 of 4 session(s) changed, sets 12 -> 14") for line in lines)
    assert any(line.startswith("c: 0 of 4") and "ValueError: bad" in line for line in lines)
    assert not any(line.startswith("a:") for line in lines)
    assert lines[-1] == "d: not done: KilledWorker: x"


def test_the_run_measures_throughput_overhead_and_memory_per_worker() -> None:
    run = CohortReprocess(
        athletes=(_result("a", work_s=3.0, worker="w:1"), _result("b", work_s=5.0, worker="w:2")),
        elapsed_s=5.0,
        workers=2,
    )
    assert run.sessions == 8 and run.sessions_per_s == 8 / 5.0
    assert run.overhead == 1 - 8.0 / 10.0
    assert run.peak_rss_mb_by_worker == {"w:1": 103.0, "w:2": 105.0}
