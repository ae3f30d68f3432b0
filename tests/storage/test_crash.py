"""A crash in the middle of a session's transaction leaves nothing behind, and the next sync completes it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pytest

from flows.imports import import_recording, sync_one_spool
from storage.db import connect_readonly

REPO_ROOT = Path(__file__).resolve().parents[2]


class InjectedCrash(RuntimeError):
    pass


def _crash_at(stage: str) -> Any:
    def hook(reached: str) -> None:
        if reached == stage:
            raise InjectedCrash(f"crash after {stage}")

    return hook


def _assert_consistent(db: Path) -> None:
    """Every stored session has exactly its samples, sets and reps (nothing half-written)."""
    with connect_readonly(db) as con:
        bad = con.execute(
            """
            SELECT s.session_id FROM sessions s
            WHERE s.n_samples <> (SELECT count(*) FROM samples x WHERE x.session_key = s.session_key)
               OR (SELECT coalesce(sum(n_reps), 0) FROM sets t WHERE t.session_id = s.session_id)
                  <> (SELECT count(*) FROM reps r WHERE r.session_id = s.session_id)
            """
        ).fetchall()
        orphans = con.execute(
            "SELECT count(*) FROM samples WHERE session_key NOT IN (SELECT session_key FROM sessions)"
        ).fetchone()
    assert bad == []
    assert orphans == (0,)


@pytest.mark.parametrize("stage", ["samples", "sets"])
def test_failure_between_samples_and_reps_rolls_back(
    tmp_path: Path, db_file: Path, rng: np.random.Generator, kit: Any, stage: str
) -> None:
    spool = kit.write_witmotion_spool(tmp_path / "s.spool", rng, n=1200)
    before = spool.read_bytes()
    with pytest.raises(InjectedCrash):
        sync_one_spool(db_file, spool, on_stage=_crash_at(stage))
    counts = kit.table_counts(db_file)
    assert counts["sessions"] == counts["samples"] == counts["sets"] == counts["reps"] == 0
    assert counts["analysis_runs"] == 0
    # The next sync imports it completely; the spool was not touched.
    res = sync_one_spool(db_file, spool)
    assert res.status == "analysed" and res.n_samples == 1200
    assert kit.table_counts(db_file)["samples"] == 1200
    assert spool.read_bytes() == before
    _assert_consistent(db_file)


def test_hand_built_session_rolls_back_after_sets(db_file: Path, rng: np.random.Generator, kit: Any) -> None:
    rec = kit.make_recording(rng)
    with pytest.raises(InjectedCrash):
        import_recording(db_file, rec, analysis=kit.make_analysis(), on_stage=_crash_at("sets"))
    assert kit.table_counts(db_file)["sets"] == 0
    res = import_recording(db_file, rec, analysis=kit.make_analysis())
    assert (res.status, res.n_sets, res.n_reps) == ("analysed", 2, 18)
    _assert_consistent(db_file)


# The child writes a session and, once its samples and sets are inside the open transaction, waits; the
# parent then kills it with SIGKILL, as a power cut or an OOM kill would.
_CHILD = textwrap.dedent(
    """
    import sys, time
    from flows.imports import import_recording

    def hook(stage):
        if stage == "sets":
            print("IN-TRANSACTION", flush=True)
            time.sleep(120)

    ns = {}
    exec(open(sys argv_build).read(), ns)
    import_recording(sys.argv[1], ns["REC"], content_sha256="c" * 64, analysis=ns["ANALYSIS"], on_stage=hook)
    print("COMMITTED", flush=True)
    """
).replace("sys argv_build", "sys.argv[2]")

# Shared by the child and the parent (which completes the import): the same recording and analysis.
_BUILD = textwrap.dedent(
    """
    import numpy as np
    from datetime import UTC, datetime
    from hipsync.records import Exercise, ExerciseSet, Recording, Rep, SessionAnalysis

    N = 200_000
    REC = Recording(
        time_s=np.arange(N) / 100.0, accel_g=np.tile([0.0, 0.0, 1.0], (N, 1)), gyro_dps=np.zeros((N, 3)),
        fs_hz=100.0, started_at=datetime(2026, 11, 20, 7, 0, tzinfo=UTC),
    )
    REPS = tuple(
        Rep(start_s=10.0 + 3 * i, top_start_s=11.0 + 3 * i, top_end_s=11.5 + 3 * i, end_s=12.5 + 3 * i,
            rom_deg=40.0)
        for i in range(10)
    )
    ANALYSIS = SessionAnalysis(
        sets=(ExerciseSet(exercise=Exercise.CLAMSHELL, side=None, start_s=10.0, end_s=40.0, reps=REPS),),
        algorithm_version="child",
    )
    """
)


@pytest.mark.slow
def test_killed_writer_leaves_nothing_and_next_import_completes(tmp_path: Path, db_file: Path) -> None:
    build = tmp_path / "build.py"
    build.write_text(_BUILD)
    child = subprocess.Popen(
        [sys.executable, "-c", _CHILD, str(db_file), str(build)],
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
    )
    try:
        assert child.stdout is not None
        line = child.stdout.readline()
        assert line.strip() == "IN-TRANSACTION"
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=30)
    finally:
        if child.poll() is None:
            child.kill()
    assert child.returncode == -signal.SIGKILL
    with connect_readonly(db_file) as con:
        n = con.execute("SELECT (SELECT count(*) FROM sessions), (SELECT count(*) FROM samples)").fetchone()
    assert n == (0, 0)
    # The next import (here, in this process) completes it.
    ns: dict[str, Any] = {}
    exec(_BUILD, ns)
    res = import_recording(db_file, ns["REC"], content_sha256="c" * 64, analysis=ns["ANALYSIS"])
    assert (res.status, res.n_samples, res.n_reps) == ("analysed", 200_000, 10)
    with connect_readonly(db_file) as con:
        n = con.execute(
            "SELECT (SELECT count(*) FROM sessions), (SELECT count(*) FROM samples), "
            "(SELECT count(*) FROM reps)"
        ).fetchone()
    assert n == (1, 200_000, 10)
    _assert_consistent(db_file)


def _run_and_get_killed(code: str, db: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-c", code, str(db)],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
    )
    assert proc.returncode == -signal.SIGKILL, proc.stderr


def test_readers_survive_a_writer_killed_right_after_migrating(db_file: Path) -> None:
    # DuckDB cannot replay DDL from a WAL read-only; migrations therefore checkpoint before returning.
    _run_and_get_killed(
        "import os, sys\nfrom storage.db import connect\n"
        "with connect(sys.argv[1]):\n    os.kill(os.getpid(), 9)\n",
        db_file,
    )
    # Plain DuckDB (as any notebook might open it), no recovery help from storage.db.
    con = duckdb.connect(str(db_file), read_only=True)
    try:
        assert con.execute("SELECT count(*) FROM sessions").fetchone() == (0,)
    finally:
        con.close()


_IMPORT_TWO_THEN_DIE = textwrap.dedent(
    """
    import os, sys
    from datetime import UTC, datetime
    import numpy as np
    from hipsync.records import Recording
    from storage.db import connect
    from storage.writes import SourceInfo, write_session

    rec = Recording(time_s=np.arange(500) / 100.0, accel_g=np.tile([0.0, 0.0, 1.0], (500, 1)), fs_hz=100.0)
    with connect(sys.argv[1]) as con:
        con.execute("SET checkpoint_threshold = '10GB'")  # both sessions stay in the WAL only
        for i in range(2):
            started = datetime(2026, 11, 20, 7, i, tzinfo=UTC)
            info = SourceInfo(source="recording", content_sha256=f"{i}" * 64, started_at=started)
            write_session(con, info, rec, None, analysis_error="not analysed")
        os.kill(os.getpid(), 9)
    """
)


def test_session_keys_continue_after_a_wal_replay(db_file: Path, rng: np.random.Generator, kit: Any) -> None:
    """Committed sessions that only reached the WAL keep their keys, and the key sequence resumes after them
    (a sequence replayed wrong would hand out a used key, and every later import would fail)."""
    _run_and_get_killed(_IMPORT_TWO_THEN_DIE, db_file)
    wal = db_file.with_name(db_file.name + ".wal")
    assert wal.exists() and wal.stat().st_size > 0
    res = import_recording(db_file, kit.make_recording(rng, duration_s=2.0), analysis=kit.make_analysis())
    assert res.status == "analysed"
    with connect_readonly(db_file) as con:
        keys = con.execute("SELECT session_key, n_samples FROM sessions ORDER BY session_key").fetchall()
        per_key = con.execute("SELECT session_key, count(*) FROM samples GROUP BY 1 ORDER BY 1").fetchall()
    assert keys == [(1, 500), (2, 500), (3, 200)]
    assert per_key == keys
    _assert_consistent(db_file)
