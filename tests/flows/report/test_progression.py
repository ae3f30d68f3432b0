"""The overload rules one by one, on hand-built rows (no database): each rule decides alone."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from itertools import count

from flows.report.figures import TrainingSession, sets_by_week, training_sessions
from flows.report.model import IsoWeek, SetSummary
from flows.report.progression import (
    SESSIONS_TO_PROGRESS,
    STALL_WEEKS,
    Progression,
    building_rule,
    increase_rule,
    load_rose_rule,
    overload,
    qualifying_streak,
    stall_rule,
    stalled_weeks,
    trend_direction,
)
from storage.report_queries import RepRow, SetRow

WEEK = IsoWeek.parse("2026-W45")
_ids = count()


def _rows(
    started_at: datetime, n_reps: int, *, band: float = 2.0, rom_deg: float = 40.0, phase_s: float = 2.0
) -> tuple[SetRow, list[RepRow]]:
    sid = f"set-{next(_ids)}"
    row = SetRow(
        set_id=sid,
        session_id=f"session-{started_at:%Y%m%d%H}",
        session_started_at=started_at,
        set_index=1,
        exercise="clamshell",
        side="left",
        n_reps=n_reps,
        velocity_loss=None,
        resistance=f"band:{int(band)}",
        load_value=band,
        load_unit="band_level",
    )
    reps = [
        RepRow(
            set_id=sid,
            rep_index=i,
            concentric_s=phase_s,
            top_hold_s=1.0,
            eccentric_s=phase_s,
            bottom_pause_s=1.0,
            rom_deg=rom_deg,
            partial=False,
        )
        for i in range(n_reps)
    ]
    return row, reps


def _progression(*sessions: tuple[int, int, float, float]) -> Progression:
    """Sessions given as (days before Friday of WEEK, reps per set, band level, ROM); one set each."""
    friday = datetime.combine(WEEK.monday, datetime.min.time(), tzinfo=UTC) + timedelta(days=4, hours=8)
    sets, reps_by_set = [], {}
    for days_before, n_reps, band, rom in sessions:
        row, reps = _rows(friday - timedelta(days=days_before), n_reps, band=band, rom_deg=rom)
        sets.append(row)
        reps_by_set[row.set_id] = reps
    train = training_sessions(sets, reps_by_set)
    return Progression(
        sessions=train,
        weekly=sets_by_week(sets, UTC),
        week=WEEK,
        tz=UTC,
        reps_low=10,
        reps_high=15,
        streak=qualifying_streak(train, 15),
    )


def test_two_sessions_at_the_top_of_the_range_say_increase() -> None:
    p = _progression((3, 15, 2, 40.0), (0, 15, 2, 40.0))
    assert p.streak == SESSIONS_TO_PROGRESS
    verdict = increase_rule(p)
    assert verdict is not None and verdict.status == "increase" and verdict.next_resistance == "band:3"


def test_one_short_set_breaks_the_streak() -> None:
    p = _progression((3, 15, 2, 40.0), (0, 14, 2, 40.0))
    assert p.streak == 0 and increase_rule(p) is None


def test_a_heavier_band_with_full_range_is_a_new_resistance() -> None:
    p = _progression((7, 12, 2, 40.0), (0, 10, 3, 39.0))
    verdict = load_rose_rule(p)
    assert verdict is not None and verdict.status == "new_resistance"


def test_a_heavier_band_with_lost_range_is_rom_dropping() -> None:
    p = _progression((7, 12, 2, 40.0), (0, 10, 3, 30.0))
    verdict = load_rose_rule(p)
    assert verdict is not None and verdict.status == "rom_dropping"
    assert "fell from 40 to 30 deg after stepping up from band level 2 to band level 3" in verdict.advice


def test_no_load_change_leaves_the_load_rule_silent() -> None:
    assert load_rose_rule(_progression((7, 12, 2, 40.0), (0, 12, 2, 40.0))) is None


def test_weeks_without_progress_are_a_stall() -> None:
    p = _progression(*[(7 * k, 12, 2, 40.0) for k in range(STALL_WEEKS, -1, -1)])
    assert stalled_weeks(p.weekly, WEEK) == STALL_WEEKS
    verdict = stall_rule(p)
    assert verdict is not None and verdict.status == "stalled"
    assert stall_rule(_progression((7, 11, 2, 40.0), (0, 12, 2, 40.0))) is None


def test_otherwise_building_and_without_sessions_no_data() -> None:
    p = _progression((0, 12, 2, 40.0))
    assert building_rule(p).status == "building" and "lowest set last session 12" in building_rule(p).advice
    assert building_rule(p).advice.endswith("next: band level 2 x 10-15")
    assert overload(p.sessions, p.weekly, WEEK, UTC, None).status == "building"
    empty: list[TrainingSession] = []
    assert overload(empty, {}, WEEK, UTC, None).status == "no_data"


def test_trend_direction() -> None:
    assert trend_direction([100.0, 110.0, 120.0, 130.0]) == "rising"
    assert trend_direction([130.0, 120.0, 110.0, 100.0]) == "falling"
    assert trend_direction([100.0, 101.0, 100.0, 101.0]) == "flat"
    assert trend_direction([0.0, 0.0, 0.0, 100.0]) == "insufficient_data"


def _unit_sets(*sets: tuple[int, int, str, float, str]) -> tuple[list[SetRow], dict[str, list[RepRow]]]:
    """Sets given as (days before Friday of WEEK, reps, resistance, load value, load unit)."""
    friday = datetime.combine(WEEK.monday, datetime.min.time(), tzinfo=UTC) + timedelta(days=4, hours=8)
    rows, reps_by_set = [], {}
    for i, (days_before, n_reps, resistance, value, unit) in enumerate(sets):
        row, reps = _rows(friday - timedelta(days=days_before), n_reps)
        row = replace(row, set_index=i + 1, resistance=resistance, load_value=value, load_unit=unit)
        rows.append(row)
        reps_by_set[row.set_id] = [replace(r, set_id=row.set_id) for r in reps]
    return rows, reps_by_set


def test_a_session_is_judged_on_its_heaviest_set() -> None:
    # Friday: one green set among red ones; last week red only -> stepped up to green, not red to red.
    rows, reps = _unit_sets(
        (7, 12, "band:red", 2.0, "band_level"),
        (0, 13, "band:green", 3.0, "band_level"),
        (0, 11, "band:red", 2.0, "band_level"),
    )
    verdict = overload(training_sessions(rows, reps), sets_by_week(rows, UTC), WEEK, UTC, None)
    assert verdict.status == "new_resistance" and verdict.resistance == "band:green"
    assert "stepped up from red band to green band (1 of 2 sets this week)" in verdict.advice
    assert verdict.next_step == "green band x 10-15"


def test_a_new_implement_is_not_compared_with_the_old_one() -> None:
    band, _ = _unit_sets((7, 12, "band:red", 2.0, "band_level"))
    rows, reps = _unit_sets((0, 12, "ankle:2kg", 2.0, "kg"), (0, 11, "ankle:5lb", 2.268, "kg"))
    verdict = overload(
        training_sessions(rows, reps), sets_by_week(rows, UTC), WEEK, UTC, None, before=band[-1]
    )
    assert verdict.status == "changed_implement" and verdict.status_words == "changed implement"
    assert verdict.advice.startswith("changed from red band to ankle weight this week")
    assert verdict.next_step == "5 lb (2.27 kg) ankle weight x 10-15"


def test_from_bodyweight_to_a_band_is_a_step_up() -> None:
    bodyweight, _ = _unit_sets((7, 15, "bodyweight", 1.0, "bodyweight"))
    rows, reps = _unit_sets((0, 10, "band:yellow", 1.0, "band_level"))
    verdict = overload(
        training_sessions(rows, reps), sets_by_week(rows, UTC), WEEK, UTC, None, before=bodyweight[-1]
    )
    assert verdict.status == "new_resistance" and "from bodyweight to yellow band" in verdict.advice


def test_sets_without_a_load_ask_for_one() -> None:
    rows, reps = _unit_sets((0, 12, "", 0.0, ""))
    rows = [replace(r, resistance=None, load_value=None, load_unit=None) for r in rows]
    summaries = [
        SetSummary(
            session_id="abcdef1234", session_started_at=rows[0].session_started_at, set_number=1,
            exercise="clamshell", side="left", reps=12, resistance=None, load_value=None, load_unit=None,
            eccentric_s=None, bottom_pause_s=None, concentric_s=None, top_hold_s=None, rom_deg=None,
            velocity_loss=None, exercise_confidence=None,
        )
    ]  # fmt: skip
    verdict = overload(
        training_sessions(rows, reps), sets_by_week(rows, UTC), WEEK, UTC, None, week_sets=summaries
    )
    assert verdict.status == "no_load" and "`hipsync log abcdef12 1 --load band:red`" in verdict.advice
