"""Plan file and resistance parsing, and the plan history in the database."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hipsync.records import Exercise
from storage.db import connect, transaction
from storage.errors import PlanError
from storage.plan import (
    BAND_LEVELS,
    Plan,
    PlanItem,
    Resistance,
    load_plan,
    parse_plan,
    plan_history,
    plan_in_effect,
    record_plan,
    save_plan,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("band:yellow", ("band:yellow", 1.0, "band_level")),
        ("band:red", ("band:red", 2.0, "band_level")),
        ("Band: Green", ("band:green", 3.0, "band_level")),
        ("band:blue", ("band:blue", 4.0, "band_level")),
        ("band:black", ("band:black", 5.0, "band_level")),
        ("ankle:2kg", ("ankle:2kg", 2.0, "kg")),
        ("ankle:1.5kg", ("ankle:1.5kg", 1.5, "kg")),
        ("dumbbell:5lb", ("dumbbell:5lb", 2.268, "kg")),
        ("bodyweight", ("bodyweight", 1.0, "bodyweight")),
    ],
)
def test_resistance_parse(text: str, expected: tuple[str, float, str]) -> None:
    r = Resistance.parse(text)
    assert (r.text, r.load_value, r.load_unit) == expected


def test_band_levels_are_ordered_light_to_heavy() -> None:
    order = ["yellow", "red", "green", "blue", "black"]
    assert [BAND_LEVELS[c] for c in order] == [1, 2, 3, 4, 5]


@pytest.mark.parametrize("bad", ["band:purple", "ankle:2", "2kg", "band:", "ankle:-1kg", ""])
def test_resistance_parse_rejects(bad: str) -> None:
    with pytest.raises(PlanError):
        Resistance.parse(bad)
    with pytest.raises(ValueError):  # PlanError is also a ValueError
        Resistance.parse(bad)


PLAN_TEXT = """
valid_from = 2026-11-02
[exercises.clamshell]
sets = 3
reps = "10-15"
resistance = "band:red"

[exercises.side_lying_leg_raise]
sets = 2
reps = [8, 12]
resistance = "ankle:2kg"

[exercises.single_leg_glute_bridge]
sets = 3
reps = 12
"""


def test_parse_plan_file(tmp_path: Path) -> None:
    plan = parse_plan(PLAN_TEXT)
    assert plan.valid_from == date(2026, 11, 2)
    clam = plan.item(Exercise.CLAMSHELL)
    assert clam is not None
    assert (clam.target_sets, clam.reps_low, clam.reps_high, clam.resistance.text) == (3, 10, 15, "band:red")
    slr = plan.item("side_lying_leg_raise")
    assert slr is not None and (slr.reps_low, slr.reps_high) == (8, 12)
    bridge = plan.item(Exercise.SINGLE_LEG_GLUTE_BRIDGE)
    assert bridge is not None and bridge.resistance.load_unit == "bodyweight"
    assert plan.resistance_for(Exercise.BANDED_ABDUCTION_SEATED) is None
    # Written back and read again: the same plan (and the file stays readable TOML).
    path = tmp_path / "plan.toml"
    save_plan(plan, path)
    assert load_plan(path) == plan
    assert "band:red" in path.read_text()


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("valid_from = 2026-11-02\n[exercises.squat]\nsets = 3\nreps = 5\n", "unknown exercise"),
        ("valid_from = 2026-11-02\n[exercises.clamshell]\nsets = 0\nreps = 5\n", "sets"),
        ("valid_from = 2026-11-02\n[exercises.clamshell]\nsets = 3\nreps = '12-8'\n", "reps"),
        ("[exercises.clamshell]\nsets = 3\nreps = 5\n", "valid_from"),
        ("valid_from = 2026-11-02\n[exercises.clamshell\n", "TOML"),
    ],
)
def test_parse_plan_errors_name_the_problem(text: str, needle: str) -> None:
    with pytest.raises(PlanError, match=needle):
        parse_plan(text)


_exercises = st.sampled_from([e for e in Exercise if e is not Exercise.UNKNOWN])
_resistances = st.sampled_from(["band:yellow", "band:black", "ankle:2kg", "ankle:0.5kg", "bodyweight"])


@given(
    st.dictionaries(
        _exercises,
        st.tuples(st.integers(1, 6), st.integers(1, 30), st.integers(0, 10), _resistances),
        max_size=5,
    ),
    st.dates(min_value=date(2020, 1, 1), max_value=date(2035, 12, 31)),
)
def test_plan_toml_round_trip(spec: dict[Exercise, tuple[int, int, int, str]], valid_from: date) -> None:
    plan = Plan(valid_from=valid_from, items=())
    for ex, (sets, low, extra, res) in spec.items():
        item = PlanItem(
            exercise=ex,
            target_sets=sets,
            reps_low=low,
            reps_high=low + extra,
            resistance=Resistance.parse(res),
        )
        plan = plan.with_item(item)
    again = parse_plan(plan.to_toml())
    assert again == plan
    assert again.plan_id == plan.plan_id


def test_plan_history_picks_the_version_in_effect(db_file: Path) -> None:
    v1 = parse_plan(PLAN_TEXT)
    v2 = parse_plan(PLAN_TEXT.replace("band:red", "band:green").replace("2026-11-02", "2026-11-16"))
    with connect(db_file) as con, transaction(con):
        assert record_plan(con, v1)
        assert record_plan(con, v2)
        assert not record_plan(con, v2)  # same content and date: nothing new
    with connect(db_file) as con:
        assert plan_in_effect(con, datetime(2026, 11, 1, 23, 0, tzinfo=UTC)) is None
        early = plan_in_effect(con, datetime(2026, 11, 10, 7, 0, tzinfo=UTC))
        late = plan_in_effect(con, datetime(2026, 11, 16, 0, 1, tzinfo=UTC))
        assert early is not None and late is not None
        assert early.resistance_for(Exercise.CLAMSHELL) == Resistance.parse("band:red")
        assert late.resistance_for(Exercise.CLAMSHELL) == Resistance.parse("band:green")
        assert [p.valid_from for p in plan_history(con)] == [date(2026, 11, 2), date(2026, 11, 16)]
        n = con.execute("SELECT count(*) FROM plans").fetchone()
        assert n is not None and n[0] == 6
