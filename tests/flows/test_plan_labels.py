"""The plan as a prior through the import path: stored labels, their sources, loads and the weekly report."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from flows.demo import plan_for_week
from flows.imports import import_recording
from flows.report.build import build_weekly_report
from flows.report.model import IsoWeek
from hipsync.records import Exercise, ExerciseSet, Recording
from storage.db import connect_readonly
from storage.plan import parse_plan
from storage.report_queries import fetch_report_rows

CLAM = Exercise.CLAMSHELL
SEATED = Exercise.BANDED_ABDUCTION_SEATED
STANDING = Exercise.BANDED_ABDUCTION_STANDING

PLAN = """
valid_from = 2026-11-02
[exercises.clamshell]
sets = 2
reps = "10-15"
resistance = "band:red"
[exercises.banded_abduction_seated]
sets = 2
reps = "10-15"
resistance = "band:green"
"""


def sets(kit: Any) -> tuple[ExerciseSet, ...]:
    """Two clear clamshell sets, then two seated abductions the accelerometer cannot tell from standing."""
    clam = {CLAM: 0.8, Exercise.SIDE_LYING_LEG_RAISE: 0.1}
    tie = {SEATED: 0.7, STANDING: 0.7}
    return (
        replace(kit.make_set(CLAM, 5.0, 10), exercise_confidence=0.88, exercise_scores=clam),
        replace(kit.make_set(CLAM, 60.0, 10), exercise_confidence=0.88, exercise_scores=clam),
        replace(kit.make_set(Exercise.UNKNOWN, 120.0, 8), exercise_confidence=0.5, exercise_scores=tie),
        replace(kit.make_set(Exercise.UNKNOWN, 170.0, 8), exercise_confidence=0.5, exercise_scores=tie),
    )


def _import(db: Path, rng: np.random.Generator, kit: Any, plan: str | None) -> None:
    rec = kit.make_recording(rng, duration_s=200.0, fs_hz=25.0)
    import_recording(
        db, rec, analysis=kit.make_analysis("v1", sets(kit)), plan=None if plan is None else parse_plan(plan)
    )


def _rows(db: Path) -> list[tuple[Any, ...]]:
    with connect_readonly(db) as con:
        return con.execute(
            "SELECT exercise, exercise_source, recognised_exercise, resistance FROM sets ORDER BY set_index"
        ).fetchall()


def _report(db: Path, kit: Any) -> Any:
    week = IsoWeek.of(kit.STARTED_AT.date())
    return build_weekly_report(fetch_report_rows(db, *week.bounds()), week)


def test_the_plan_names_what_the_sensor_could_not(db_file: Path, rng: np.random.Generator, kit: Any) -> None:
    _import(db_file, rng, kit, PLAN)
    assert _rows(db_file) == [
        ("clamshell", "recognised", "clamshell", "band:red"),
        ("clamshell", "recognised", "clamshell", "band:red"),
        ("banded_abduction_seated", "plan", "unknown", "band:green"),  # the planned band of the planned label
        ("banded_abduction_seated", "plan", "unknown", "band:green"),
    ]
    report = _report(db_file, kit)
    assert [e.exercise for e in report.exercises] == ["banded_abduction_seated", "clamshell"]
    assert report.unrecognised == ()
    seated = report.exercises[0].set_details
    assert [(s.exercise_source, s.flags) for s in seated] == [("plan", ()), ("plan", ())]


def test_without_a_plan_the_sets_stay_unrecognised(db_file: Path, rng: np.random.Generator, kit: Any) -> None:
    _import(db_file, rng, kit, None)
    assert [r[:2] for r in _rows(db_file)][2:] == [("unknown", "recognised")] * 2
    report = _report(db_file, kit)
    assert [e.exercise for e in report.exercises] == ["clamshell"]
    unrecognised = [(s.set_number, "low_confidence" in s.flags) for s in report.unrecognised]
    assert unrecognised == [(3, True), (4, True)]


@pytest.mark.slow
def test_a_simulated_session_without_gyroscope_is_right_with_its_plan(db_file: Path) -> None:
    """Standing then seated abduction and leg raises, accelerometer only: the recogniser leaves the seated
    sets unknown (a tie); with the week's plan every stored set carries its true exercise."""
    from simulate import simulate_program
    from simulate.sensor import SensorSpec

    program = simulate_program(1, 9608, compact=True, sensor=SensorSpec(accel_only=True))
    sim = program.sessions[0]
    res = import_recording(db_file, Recording.of(sim), plan=plan_for_week(program.plan[0]))
    assert res.status == "analysed"
    with connect_readonly(db_file) as con:
        stored = con.execute("SELECT start_s, end_s, exercise, recognised_exercise FROM sets").fetchall()
    assert "unknown" in [r[3] for r in stored]  # the recogniser alone could not tell
    for a, b, exercise, _ in stored:
        overlap = [(min(b, t["end"]) - max(a, t["start"]), t["exercise"]) for t in sim.truth["sets"]]
        assert max(overlap)[1] == exercise
