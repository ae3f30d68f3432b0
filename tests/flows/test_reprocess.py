"""Re-analysis when the algorithm version changes: atomic swap, run history, user loads kept by overlap."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

import processing
from flows.imports import import_recording
from flows.reprocess import reprocess
from hipsync.records import Exercise, Recording, SessionAnalysis
from storage.db import connect, connect_readonly, transaction
from storage.plan import parse_plan, record_plan
from storage.sessions import log_session
from storage.writes import SourceInfo, write_session

PLAN = """
valid_from = 2026-11-02
[exercises.clamshell]
sets = 3
reps = "10-15"
resistance = "band:red"
[exercises.side_lying_leg_raise]
sets = 3
reps = "8-12"
resistance = "ankle:1kg"
"""


def _sets(db: Path) -> list[tuple[Any, ...]]:
    with connect_readonly(db) as con:
        return con.execute(
            "SELECT set_index, exercise, start_s, resistance, load_source FROM sets ORDER BY set_index"
        ).fetchall()


def test_reprocess_keeps_user_loads(db_file: Path, rng: np.random.Generator, kit: Any) -> None:
    with connect(db_file) as con, transaction(con):
        record_plan(con, parse_plan(PLAN))
    res = import_recording(db_file, kit.make_recording(rng), analysis=kit.make_analysis("v1"))
    assert res.session_id is not None
    # The user says set 2 (side-lying leg raises, 40-64 s) was done with a 2 kg ankle weight.
    log_session(db_file, res.session_id, 2, load="ankle:2kg")
    assert [r[3:] for r in _sets(db_file)] == [("band:red", "plan"), ("ankle:2kg", "user")]

    # v2 splits the clamshell set in two and shifts the leg-raise set by 1 s.
    v2 = kit.make_analysis(
        "v2",
        sets=(
            kit.make_set(Exercise.CLAMSHELL, 5.0, 5),
            kit.make_set(Exercise.CLAMSHELL, 21.0, 4),
            kit.make_set(Exercise.SIDE_LYING_LEG_RAISE, 41.0, 8),
        ),
    )
    seen: list[Recording] = []

    def analyze_v2(rec: Recording) -> SessionAnalysis:
        seen.append(rec)
        return v2

    out = reprocess(db_file, analyze_fn=analyze_v2, version="v2")
    assert len(out) == 1
    r = out[0]
    assert (r.old_version, r.new_version, r.n_sets, r.n_reps, r.kept_user_loads) == ("v1", "v2", 3, 17, 1)
    assert _sets(db_file) == [
        (1, "clamshell", 5.0, "band:red", "plan"),
        (2, "clamshell", 21.0, "band:red", "plan"),
        (3, "side_lying_leg_raise", 41.0, "ankle:2kg", "user"),
    ]
    # The analysis got the stored samples back, in order and with the session's metadata.
    assert seen[0].n_samples == 6000 and seen[0].gyro_dps is not None and seen[0].fs_hz == 100.0
    assert seen[0].started_at == kit.STARTED_AT
    np.testing.assert_allclose(seen[0].time_s, np.arange(6000) / 100.0)
    with connect_readonly(db_file) as con:
        runs = con.execute(
            "SELECT algorithm_version, is_current FROM analysis_runs ORDER BY created_at"
        ).fetchall()
        reps = con.execute("SELECT count(*) FROM reps").fetchone()
        orphan = con.execute(
            "SELECT count(*) FROM reps WHERE set_id NOT IN (SELECT set_id FROM sets)"
        ).fetchone()
    assert runs == [("v1", False), ("v2", True)]
    assert reps == (17,) and orphan == (0,)
    # Up to date now: nothing to do; a failing analysis leaves the session as it was.
    assert reprocess(db_file, analyze_fn=analyze_v2, version="v2") == []

    def broken(rec: Recording) -> SessionAnalysis:
        raise RuntimeError("bug in v3")

    failed = reprocess(db_file, analyze_fn=broken, version="v3")
    assert failed[0].error == "RuntimeError: bug in v3"
    assert len(_sets(db_file)) == 3


def test_reprocess_with_the_real_analysis_and_samples_only_sessions(
    db_file: Path, rng: np.random.Generator, kit: Any
) -> None:
    import_recording(db_file, kit.make_recording(rng, duration_s=30.0), analysis=kit.make_analysis("old"))
    with connect(db_file) as con:
        write_session(
            con,
            SourceInfo(source="recording", content_sha256="f" * 64),
            kit.make_recording(rng, duration_s=30.0),
            None,
            analysis_error="analysis failed: earlier bug",
        )
    out = reprocess(db_file)
    assert len(out) == 2 and all(r.error is None for r in out)
    assert {r.new_version for r in out} == {processing.ALGORITHM_VERSION}
    with connect_readonly(db_file) as con:
        rows = con.execute(
            "SELECT s.status, s.status_reason, r.algorithm_version FROM sessions s "
            "JOIN analysis_runs r ON r.session_id = s.session_id AND r.is_current"
        ).fetchall()
    assert rows == [("analysed", None, processing.ALGORITHM_VERSION)] * 2
    assert reprocess(db_file) == []
