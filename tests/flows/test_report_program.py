"""Weekly reports of a simulated program, checked against numbers computed by hand from its ground truth.

The sessions are stored with the simulator's own sets and reps (its ``truth``) as the analysis, so the
report is checked independently of how well ``processing`` finds reps.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import pytest

from flows.render import compute_report
from flows.report import IsoWeek, report_to_json
from storage.report_queries import count_reps

pytestmark = pytest.mark.slow

START = date(2026, 3, 2)  # Monday of ISO week 2026-W10
#: A hand-written double-progression program: (day offset from START, hour UTC, reps per set, clamshell band,
#: bridge load). Clamshells reach 3 x 15 on a red band in two sessions running (W11), so W11's report must
#: say "move to green"; W12 trains on green (a step up, reps back to 10). The bridge steps from bodyweight
#: to a yellow band in W12 as well. Monday 08:00 -> Tuesday 07:00 in W10 is a 23 h gap (flagged).
PROGRAM = (
    (0, 8.0, (12, 12, 11), "band:red", "bodyweight"),
    (1, 7.0, (13, 12, 12), "band:red", "bodyweight"),
    (4, 7.5, (14, 13, 13), "band:red", "bodyweight"),
    (7, 8.0, (15, 15, 15), "band:red", "bodyweight"),
    (10, 8.0, (15, 15, 15), "band:red", "bodyweight"),
    (14, 8.0, (10, 10, 9), "band:green", "band:yellow"),
    (17, 8.0, (11, 10, 10), "band:green", "band:yellow"),
)
WEEKS = 3


def _simulate(seed: int, day: int, hour: float, reps: tuple[int, ...], band: str, bridge: str) -> Any:
    import numpy as np

    from simulate import SessionSpec, draw_person, simulate_session

    spec = SessionSpec(
        exercises=("clamshell", "single_leg_glute_bridge"),
        set_reps={"clamshell": reps, "single_leg_glute_bridge": (12, 12)},
        loads={"clamshell": band, "single_leg_glute_bridge": bridge},
        side="left",
        both_sides=False,
        walking=False,
        rest_s=(8.0, 12.0),
        lead_s=(2.0, 3.0),
        fs_hz=50.0,
        partial_rep_prob=0.0,
        person=draw_person(np.random.default_rng(1)),  # one trainee throughout
        started_at=datetime.combine(START, time(0), tzinfo=UTC) + timedelta(days=day, hours=hour),
    )
    return simulate_session(seed, spec=spec)


def _analysis(truth: dict[str, Any]) -> Any:
    from processing.records import Exercise, ExerciseSet, Rep, SessionAnalysis, Side

    sets = tuple(
        ExerciseSet(
            exercise=Exercise(st["exercise"]),
            side=Side(st["side"]),
            start_s=st["start"],
            end_s=st["end"],
            reps=tuple(
                Rep(
                    start_s=r["start"],
                    top_start_s=r["top_start"],
                    top_end_s=r["top_end"],
                    end_s=r["end"],
                    rom_deg=r["rom_deg"],
                    partial=r["partial"],
                )
                for r in st["reps"]
            ),
            velocity_loss=st["velocity_loss"],
        )
        for st in truth["sets"]
        if not st.get("passive")
    )
    return SessionAnalysis(sets=sets, algorithm_version="simulator-truth")


@pytest.fixture(scope="module")
def program_db(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[Any]]:
    from processing.records import Recording, Side
    from storage.sync import import_recording

    sessions = [_simulate(100 + i, *row) for i, row in enumerate(PROGRAM)]
    db = tmp_path_factory.mktemp("program") / "hipsync.duckdb"
    for sess in sessions:
        analysis = _analysis(sess.truth)
        loads = [st["load"] for st in sess.truth["sets"] if not st.get("passive")]
        rec = Recording(
            time_s=sess.time_s,
            accel_g=sess.accel_g,
            gyro_dps=sess.gyro_dps,
            fs_hz=sess.fs_hz,
            side=Side(sess.side),
            started_at=sess.started_at,
        )
        res = import_recording(db, rec, analysis=analysis, loads=loads)
        assert res.status == "analysed"
    return db, sessions


def _load_value(resistance: str) -> float:
    from storage.plan import Resistance

    return Resistance.parse(resistance).load_value


def _week_truth(sessions: list[Any], week: IsoWeek) -> dict[str, dict[str, float]]:
    """Hand computation: reps, sets, sessions and volume load per exercise in ``week``."""
    start, end = week.bounds(UTC)
    out: dict[str, dict[str, float]] = defaultdict(
        lambda: {"reps": 0, "sets": 0, "volume": 0.0, "sessions": 0}
    )
    for sess in sessions:
        if not start <= sess.started_at < end:
            continue
        seen = set()
        for st in sess.truth["sets"]:
            e = out[st["exercise"]]
            e["reps"] += len(st["reps"])
            e["sets"] += 1
            e["volume"] += len(st["reps"]) * _load_value(st["load"])
            if st["exercise"] not in seen:
                e["sessions"] += 1
                seen.add(st["exercise"])
    return out


def _report(db: Path, week: IsoWeek) -> dict[str, Any]:
    return report_to_json(compute_report(db, week, tz=UTC))


def test_reps_volume_and_sets_match_the_simulated_program(program_db: tuple[Path, Any]) -> None:
    db, program = program_db
    for k in range(WEEKS):
        week = IsoWeek.of(START + timedelta(weeks=k))
        doc = _report(db, week)
        expected = _week_truth(program, week)
        got = {e["exercise"]: e for e in doc["exercises"]}
        assert set(got) == set(expected)
        for ex, exp in expected.items():
            assert got[ex]["reps"] == exp["reps"], (week, ex)
            assert got[ex]["sets"] == exp["sets"], (week, ex)
            assert got[ex]["sessions"] == exp["sessions"], (week, ex)
            assert got[ex]["volume_load"] == pytest.approx(exp["volume"]), (week, ex)
        start, end = week.bounds(UTC)
        assert sum(e["reps"] for e in doc["exercises"]) == count_reps(db, start, end)


def test_overload_advice_before_and_after_the_resistance_step(program_db: tuple[Path, Any]) -> None:
    db, _ = program_db
    w11 = _report(db, IsoWeek.of(START + timedelta(weeks=1)))
    [clam] = [e for e in w11["exercises"] if e["exercise"] == "clamshell"]
    assert clam["overload"]["status"] == "increase", clam["overload"]
    assert clam["overload"]["advice"].startswith("all sets at 15 reps with ")
    assert "for 2 sessions: move from red band to green band" in clam["overload"]["advice"]
    assert clam["overload"]["next_resistance"] == "band:green"

    w12 = _report(db, IsoWeek.of(START + timedelta(weeks=2)))
    by_ex = {e["exercise"]: e for e in w12["exercises"]}
    for ex, before, after in (
        ("clamshell", "red band", "green band"),
        ("single_leg_glute_bridge", "bodyweight", "yellow band"),
    ):
        overload = by_ex[ex]["overload"]
        assert overload["status"] in ("new_resistance", "rom_dropping"), (ex, overload)
        assert f"from {before} to {after}" in overload["advice"]


def test_gaps_under_48_hours_are_flagged(program_db: tuple[Path, Any]) -> None:
    db, sessions = program_db
    starts = sorted(s.started_at for s in sessions)
    expected_min_h = {0: 23.0, 1: 72.0, 2: 72.0}  # from PROGRAM's days and hours
    for k in range(WEEKS):
        week = IsoWeek.of(START + timedelta(weeks=k))
        start, end = week.bounds(UTC)
        rec = _report(db, week)["recovery"]
        assert rec["min_hours_between_sessions"] == pytest.approx(expected_min_h[k], abs=1e-3)
        assert rec["flag_under_48h"] is (k == 0)
        assert rec["sessions"] == sum(start <= t < end for t in starts)
    [gap] = _report(db, IsoWeek.of(START))["recovery"]["short_gaps"]
    assert gap["hours"] == pytest.approx(23.0)
