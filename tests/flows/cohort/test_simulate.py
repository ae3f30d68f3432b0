"""``cohort simulate``: varied athletes, each imported into its own home, idempotently."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import date
from pathlib import Path

import duckdb

from flows.cohort.layout import find_athletes
from flows.cohort.simulate import (
    DONE_FILE,
    MISS_PROBS,
    SECOND_LEG_AFTER_S,
    SENSORS,
    SIDES,
    SimulatedAthlete,
    draw_athletes,
    first_monday,
    simulate_athlete,
)
from storage.plan import load_plan


def test_athletes_are_drawn_varied_and_reproducibly() -> None:
    specs = draw_athletes(60, 4, 11, date(2026, 3, 2))
    assert specs == draw_athletes(60, 4, 11, date(2026, 3, 2))
    assert specs != draw_athletes(60, 4, 12, date(2026, 3, 2))
    assert [s.athlete for s in specs[:2]] == ["athlete-001", "athlete-002"]
    assert {(s.sensor, s.fs_hz, s.accel_only) for s in specs} == {(p, f, a) for p, f, a, _ in SENSORS}
    assert {s.sides for s in specs} == {sides for sides, _ in SIDES}
    assert len({s.miss_prob for s in specs}) >= 4 and {s.miss_prob for s in specs} <= set(MISS_PROBS)
    assert len({s.seed for s in specs}) == 60


def test_first_monday_ends_the_program_with_last_week() -> None:
    assert first_monday(2, date(2026, 3, 18)) == date(2026, 3, 2)  # a Wednesday of W12: W10 and W11
    assert first_monday(1, date(2026, 3, 16)) == date(2026, 3, 9)


def _sessions(db: Path) -> list[tuple[str, object, object]]:
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute("SELECT side, started_at, ended_at FROM sessions ORDER BY started_at").fetchall()


def test_every_athlete_has_a_home_with_its_sessions_plan_and_file(
    small_cohort_run: tuple[Path, list[SimulatedAthlete]],
) -> None:
    root, done = small_cohort_run
    athletes = {a.athlete: a for a in find_athletes(root)}
    assert sorted(athletes) == [d.athlete for d in done] == [f"athlete-00{i}" for i in range(1, 5)]
    for d in done:
        a = athletes[d.athlete]
        assert a.info.sessions_per_week == d.sessions_per_week in (2, 3)
        assert len(_sessions(a.db_path)) == d.imported > 0
        assert d.imported <= d.planned
        assert load_plan(a.home / "plan.toml").items
    sides = {a.athlete: a.info.sides for a in athletes.values()}
    assert sides == {
        "athlete-001": ("left",),
        "athlete-002": ("left", "right"),
        "athlete-003": ("right",),
        "athlete-004": ("right",),
    }


def test_the_second_leg_trains_right_after_the_first(small_cohort: Path) -> None:
    rows = _sessions(small_cohort / "athlete-002" / "hipsync.duckdb")
    left = [(s, e) for side, s, e in rows if side == "left"]
    right = [s for side, s, _ in rows if side == "right"]
    assert left and right
    for t in right:
        same_day = [(s, e) for s, e in left if s.date() == t.date()]  # type: ignore[attr-defined]
        assert same_day, f"right-leg session {t} on a day without a left-leg session"
        rest_s = (t - same_day[0][1]).total_seconds()  # type: ignore[operator]
        assert 0 < rest_s <= SECOND_LEG_AFTER_S + 1


def test_simulating_an_athlete_again_imports_nothing_new(
    cohort: Path, small_cohort_run: tuple[Path, list[SimulatedAthlete]]
) -> None:
    spec = draw_athletes(4, 2, 1, date(2026, 3, 2))[0]
    first = small_cohort_run[1][0]
    marker = json.loads((cohort / spec.athlete / DONE_FILE).read_text())
    assert marker["result"]["imported"] == first.imported and marker["spec"]["seed"] == spec.seed
    again = simulate_athlete(cohort, spec)  # finished before with the same spec: nothing to simulate
    assert (again.imported, again.skipped, again.planned) == (0, first.imported, first.planned)
    assert len(_sessions(cohort / spec.athlete / "hipsync.duckdb")) == first.imported
    other = replace(spec, weeks=1)  # another spec: simulated again, its sessions are already stored
    assert simulate_athlete(cohort, other).imported == 0
