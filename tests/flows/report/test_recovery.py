"""The recovery rules one by one: gaps, session count, acute:chronic load, left/right, advice."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from flows.report.model import (
    Asymmetry,
    Change,
    ExerciseReport,
    LoadVolume,
    Overload,
    PhaseStats,
    Tempo,
    Trend,
    WeekPeriod,
)
from flows.report.recovery import (
    acute_chronic_load,
    asymmetries,
    recovery_advice,
    session_gaps,
    sessions_status,
)
from storage.report_queries import RepRow, SetRow

MONDAY = datetime(2026, 11, 2, 8, 0, tzinfo=UTC)
END = MONDAY + timedelta(days=7)


def test_gaps_include_the_one_into_the_week_and_flag_short_rest() -> None:
    sunday_before = MONDAY - timedelta(hours=24)
    trained = [sunday_before, MONDAY, MONDAY + timedelta(days=3)]
    gaps = session_gaps(trained, MONDAY, END)
    assert [round(g.hours) for g in gaps] == [24, 72]
    assert [g.short for g in gaps] == [True, False]


def test_sessions_status_against_two_to_three() -> None:
    assert [sessions_status(n) for n in (1, 2, 3, 4)] == [
        "below_target",
        "on_target",
        "on_target",
        "above_target",
    ]


def _set(set_id: str, started_at: datetime) -> SetRow:
    return SetRow(
        set_id=set_id,
        session_id=set_id,
        session_started_at=started_at,
        set_index=1,
        exercise="clamshell",
        side="left",
        n_reps=1,
        velocity_loss=None,
        resistance=None,
        load_value=None,
        load_unit=None,
    )


def _rep(set_id: str, tut_s: float) -> RepRow:
    return RepRow(
        set_id=set_id,
        rep_index=1,
        concentric_s=tut_s / 2,
        top_hold_s=0.0,
        eccentric_s=tut_s / 2,
        bottom_pause_s=5.0,  # rest, not load
        rom_deg=40.0,
        partial=False,
    )


def test_acute_chronic_load_is_7_days_over_the_28_day_weekly_mean() -> None:
    sets = [_set(f"s{k}", END - timedelta(days=7 * k + 1)) for k in range(4)]
    reps = {s.set_id: [_rep(s.set_id, 100.0 if k == 0 else 50.0)] for k, s in enumerate(sets)}
    ratio, acute, chronic = acute_chronic_load(sets, reps, END)
    assert (acute, chronic) == (100.0, (100.0 + 3 * 50.0) / 4)
    assert ratio == 100.0 / chronic
    assert acute_chronic_load([], {}, END) == (None, 0.0, 0.0)


def _exercise(side: str, volume: float, rom: float | None, unit: str = "band_level") -> ExerciseReport:
    none = PhaseStats(median_s=None, iqr_s=None)
    verdict = Overload(
        status="building", status_words="building reps", reason="", advice="", load_unit=unit,
        resistance=None, resistance_words="", next_resistance=None, next_step="", qualifying_sessions=0,
    )  # fmt: skip
    trend = Trend(weeks=(), volume_load=(), direction="insufficient_data")
    volumes = LoadVolume(
        load_unit=unit, unit_words="", sets=1, reps=10, volume_load=volume, resistances=(),
        resistance_words=(), previous_volume_load=None, change_pct=None, trend=trend,
    )  # fmt: skip
    return ExerciseReport(
        exercise="clamshell",
        name="clamshell",
        side=side,
        sessions=1,
        sets=1,
        reps=10 if side == "left" else 12,
        volumes=(volumes,),
        volume_load=volume,
        load_unit=unit,
        resistance=None,
        time_under_tension_s=0.0,
        tempo=Tempo(concentric=none, top_hold=none, eccentric=none, bottom_pause=none, notation=None),
        rom_deg=rom,
        rom_sets_left_out=0,
        velocity_loss=None,
        change=Change(reps=None, rom_deg=None),
        overload=verdict,
        overloads=(verdict,),
        notes=(),
    )


def test_asymmetry_only_for_exercises_on_both_sides() -> None:
    [a] = asymmetries([_exercise("left", 100.0, 40.0), _exercise("right", 80.0, None)])
    assert a.measure == "band-level reps"
    assert a.volume_asymmetry == 0.2 and a.rom_asymmetry is None
    assert asymmetries([_exercise("left", 100.0, 40.0)]) == []


def test_asymmetry_compares_reps_when_the_sides_used_different_units() -> None:
    # 100 band-level reps against 5 kg reps mean nothing together: 10 reps against 12 do.
    [a] = asymmetries([_exercise("left", 100.0, 40.0), _exercise("right", 5.0, 40.0, unit="kg")])
    assert (a.measure, a.volume_left, a.volume_right) == ("reps", 10.0, 12.0)
    assert a.volume_asymmetry == (10 - 12) / 12


def test_advice_names_the_off_target_count_short_gaps_and_the_weaker_side() -> None:
    gaps = session_gaps([MONDAY, MONDAY + timedelta(hours=20)], MONDAY, END)
    asym = [
        Asymmetry(
            exercise="clamshell",
            measure="band-level reps",
            volume_left=100.0,
            volume_right=80.0,
            volume_asymmetry=0.2,
            rom_left_deg=None,
            rom_right_deg=None,
            rom_asymmetry=None,
        )
    ]
    week = WeekPeriod(
        week="2026-W45",
        complete=True,
        days=7,
        day_range="Mon-Sun",
        label="2026-W45",
        compared_with="2026-W44",
    )
    advice = recovery_advice(4, "above_target", gaps, asym, week, UTC)
    assert len(advice) == 3
    assert "above the 2-3 target" in advice[0]
    assert advice[1] == "only 20 h between sessions (Mon 08:00 -> Tue 04:00): under the 48 h minimum"
    assert advice[2] == "clamshell: 20% less band-level reps on the right side"
    so_far = WeekPeriod(
        week="2026-W45", complete=False, days=3, day_range="Mon-Wed", label="2026-W45 so far (Mon-Wed)",
        compared_with="Mon-Wed of 2026-W44",
    )  # fmt: skip
    assert recovery_advice(1, "below_target", [], [], so_far) == [
        "1 glute session(s) so far (Mon-Wed); the target is 2-3 a week"
    ]
