"""Programs: schedule, double progression, and sessions that carry the week's plan."""

from __future__ import annotations

import itertools
from datetime import date, timedelta

import numpy as np
import pytest

from hipsync.records import Exercise
from simulate import SimulatedProgram, SimulationError, program_to_json, simulate_program
from simulate.program import load_factor, resistance_ladder

EXS = ("clamshell", "side_lying_leg_raise")

pytestmark = pytest.mark.slow  # the program fixture simulates ~20 sessions (~5 s)


@pytest.fixture(scope="module")
def program() -> SimulatedProgram:
    # 7 compact weeks at 25 Hz: long enough for reps to climb and at least one resistance step
    return simulate_program(7, 4, exercises=EXS, sessions_per_week=3, fs_hz=25.0, compact=True)


def test_schedule_two_to_three_sessions_a_week_some_missed(program: SimulatedProgram) -> None:
    assert len(program.plan) == 7
    per_week = [sum(1 for s in program.schedule if s.week == w) for w in range(1, 8)]
    assert per_week == [3] * 7
    done = [s for s in program.schedule if s.done]
    assert len(done) == len(program.sessions) < len(program.schedule)
    days = [s.day for s in program.schedule]
    assert days == sorted(days)
    # sessions start on their planned day, in UTC, at least a day apart
    for s in done:
        assert s.session_index is not None
        sess = program.sessions[s.session_index]
        assert sess.started_at.date() == s.day and sess.started_at.utcoffset() == timedelta(0)
        assert sess.side == program.side
    for a, b in itertools.pairwise(days):
        assert (b - a).days >= 1
    assert program.plan[0].start_date.weekday() == 0


def _sessions(program: SimulatedProgram, ex: str) -> list[tuple[int, str, list[int]]]:
    """(week, load, reps per set) of every done session that trained ``ex``, in order."""
    out = []
    for s in program.schedule:
        if s.session_index is None:
            continue
        sets = [x for x in program.sessions[s.session_index].truth["sets"] if x["exercise"] == ex]
        if sets:
            out.append((s.week, sets[0]["load"], [len(x["reps"]) for x in sets]))
    return out


def test_double_progression(program: SimulatedProgram) -> None:
    stepped = 0
    for ex in EXS:
        ladder = resistance_ladder(Exercise(ex))
        levels = [ladder.index(w.targets[ex].resistance) for w in program.plan]
        # resistance never goes down and moves one level at a time
        assert all(0 <= b - a <= 1 for a, b in itertools.pairwise(levels))
        sessions = _sessions(program, ex)
        for week, load, reps in sessions:
            # every set uses the week's planned resistance, within the 10-15 range or below it
            assert load == program.plan[week - 1].targets[ex].resistance
            assert all(3 <= r <= 15 for r in reps)
        for prev, plan in itertools.pairwise(program.plan):
            if plan.targets[ex].resistance == prev.targets[ex].resistance:
                continue
            stepped += 1
            # a step up comes after a week with a session where every set reached the top of the range
            before = [reps for week, _, reps in sessions if week == prev.week]
            assert any(all(r == 15 for r in reps) for reps in before), (ex, plan.week, before)
            # and the reps drop with the heavier resistance
            after = [reps for week, _, reps in sessions if week == plan.week]
            if after:
                assert np.mean(after[0]) < np.mean(before[-1]) - 1.0, (ex, before, after)
        # reps climb while the resistance stays
        first = [np.mean(reps) for _, load, reps in sessions if load == sessions[0][1]]
        assert len(first) < 3 or np.mean(first[-2:]) > np.mean(first[:2])
    assert stepped >= 1


def test_program_json_and_rpe(program: SimulatedProgram) -> None:
    doc = program_to_json(program, [f"s{i}.csv" for i in range(len(program.sessions))])
    assert [p["week"] for p in doc["plan"]] == list(range(1, 8))
    t = doc["plan"][0]["targets"]["clamshell"]
    assert set(t) == {"sets", "reps_min", "reps_max", "resistance"}
    done = [s for s in doc["schedule"] if s["done"]]
    assert all(s["file"].endswith(".csv") and s["sets"] for s in done)
    rpes = [s["rpe"] for s in done]
    assert any(r is None for r in rpes) or len(rpes) < 5
    assert all(r is None or 1 <= r <= 10 for r in rpes)
    assert any(r is not None for r in rpes)


def test_load_factors_increase_along_ladders() -> None:
    for ex in Exercise:
        factors = [load_factor(r) for r in resistance_ladder(ex)]
        assert factors == sorted(factors) and len(set(factors)) == len(factors)


def test_program_validation_and_determinism() -> None:
    with pytest.raises(SimulationError):
        simulate_program(0, 1)
    with pytest.raises(SimulationError):
        simulate_program(1, 1, sessions_per_week=5)
    with pytest.raises(SimulationError):
        simulate_program(1, 1, exercises=("lunge",))
    a = simulate_program(
        1, 9, exercises=("clamshell",), fs_hz=25.0, compact=True, start_date=date(2026, 6, 3)
    )
    b = simulate_program(
        1, 9, exercises=("clamshell",), fs_hz=25.0, compact=True, start_date=date(2026, 6, 3)
    )
    assert program_to_json(a) == program_to_json(b)
    assert a.plan[0].start_date == date(2026, 6, 1)  # the Monday of that week
