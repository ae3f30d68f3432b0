"""The coach's report: computed over the lake, it agrees with each athlete's own (single-user) report."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from flows.cohort.charts import balance_bars, sparkline
from flows.cohort.render import (
    cohort_report_to_json,
    render_cohort_html,
    render_cohort_markdown,
    write_cohort_report,
)
from flows.cohort.report import (
    FLAG_WEIGHTS,
    AthleteWeek,
    CohortReport,
    Flag,
    Stall,
    Tempo,
    adherence_flags,
    bouts,
    compute_cohort_report,
    lake_weeks,
    plan_status,
    recovery_flags,
    side_balance,
    stalls,
    training_flags,
    weeks_of,
)
from flows.report.build import week_period
from flows.report.model import Asymmetry, IsoWeek
from flows.report.produce import compute_report
from storage.report_queries import SetRow

T0 = datetime(2026, 3, 9, 7, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def report(lake: Path, report_week: str) -> CohortReport:
    return compute_cohort_report(lake, IsoWeek.parse(report_week))


def test_every_athlete_agrees_with_its_own_report(
    report: CohortReport, small_cohort: Path, report_week: str
) -> None:
    assert sorted(a.athlete for a in report.athletes) == [f"athlete-00{i}" for i in range(1, 5)]
    for a in report.athletes:
        own = compute_report(small_cohort / a.athlete / "hipsync.duckdb", IsoWeek.parse(report_week))
        assert (a.sets, a.reps) == (own.totals["sets"], own.totals["reps"]) and a.reps > 0, a.athlete
        assert a.unrecognised_sets == len(own.unrecognised)
        # The week is complete: its time under tension is the acute load of the week's last 7 days.
        assert a.tut_s == pytest.approx(own.recovery.acute_load_s)
        assert a.acwr == pytest.approx(own.recovery.acwr)
        own_stalls = {
            (e.exercise, e.side, o.load_unit)
            for e in own.exercises
            for o in e.overloads
            if o.status == "stalled"
        }
        assert own_stalls <= {(s.exercise, s.side, s.load_unit) for s in a.stalls}
        assert all(s.weeks >= 3 for s in a.stalls)
        assert [(b.exercise, b.measure) for b in a.balance] == [
            (b.exercise, b.measure) for b in own.recovery.asymmetry
        ]
        for mine, theirs in zip(a.balance, own.recovery.asymmetry, strict=True):
            assert (mine.volume_asymmetry, mine.rom_asymmetry) == pytest.approx(
                (theirs.volume_asymmetry, theirs.rom_asymmetry)
            )
        if len(a.sides) == 1:  # one recording per training session: the same sessions and rests
            assert a.sessions_done == own.recovery.sessions
            assert a.min_rest_h == pytest.approx(own.recovery.min_hours_between_sessions)
            assert a.short_rests == len(own.recovery.short_gaps)


def test_both_legs_in_one_training_session_count_once(report: CohortReport) -> None:
    both = next(a for a in report.athletes if a.sides == ("left", "right"))
    assert both.balance, "the athlete who trains both legs has a left/right comparison"
    assert both.sessions_done <= (both.sessions_planned or 3)
    assert both.short_rests == 0  # the second leg right after the first is not a short rest


def test_athletes_are_ranked_by_attention(report: CohortReport) -> None:
    scores = [a.attention for a in report.athletes]
    assert scores == sorted(scores, reverse=True)
    for a in report.athletes:
        assert a.attention == sum(f.weight for f in a.flags)
        assert {f.code for f in a.flags} <= set(FLAG_WEIGHTS)
    assert report.weeks[-1] == report.week and len(report.weeks) == 9
    assert all(len(a.weekly_sessions) == len(a.weekly_tut_s) == 9 for a in report.athletes)
    # The program started two weeks before the report week's end: earlier weeks are before the first session.
    assert all(a.weekly_sessions[:-2] == (None,) * 7 for a in report.athletes)


def _athlete(**changes: object) -> AthleteWeek:
    base: dict[str, object] = dict(
        athlete="x",
        sensor=None,
        sides=("left",),
        sessions_done=3,
        sessions_planned=3,
        sessions_status="on_plan",
        weekly_sessions=(3,),
        sets=9,
        reps=100,
        unrecognised_sets=0,
        tut_s=600.0,
        weekly_tut_s=(600.0,),
        trend="flat",
        tempo=Tempo(
            concentric_s=1.5,
            top_hold_s=1.0,
            eccentric_s=2.0,
            bottom_pause_s=0.5,
            rom_deg=40.0,
            notation="2-0-2-1",
            rushed=False,
        ),
        min_rest_h=48.0,
        short_rests=0,
        acwr=1.0,
        acute_load_s=600.0,
        chronic_load_s=600.0,
        stalls=(),
        balance=(),
        quarantined=0,
        flags=(),
    )
    base.update(changes)
    return AthleteWeek(**base)  # type: ignore[arg-type]


def _codes(flags: list[Flag]) -> list[str]:
    return [f.code for f in flags]


def test_a_week_as_planned_raises_no_flag() -> None:
    a = _athlete()
    assert adherence_flags(a) == recovery_flags(a) == training_flags(a) == []


def test_each_finding_is_a_weighted_flag() -> None:
    assert _codes(adherence_flags(_athlete(sessions_done=0))) == ["no_training"]
    missed = adherence_flags(_athlete(sessions_done=1, sessions_planned=3))
    assert [(f.code, f.weight) for f in missed] == [("missed_sessions", 2 * FLAG_WEIGHTS["missed_sessions"])]
    assert _codes(recovery_flags(_athlete(short_rests=1, min_rest_h=20.0, acwr=1.6, quarantined=1))) == [
        "short_rest",
        "load_spike",
        "quarantined",
    ]
    assert _codes(recovery_flags(_athlete(acwr=0.5))) == ["load_drop"]
    stall = Stall(
        exercise="single_leg_glute_bridge",
        side="left",
        load_unit="band_level",
        weeks=4,
        resistance="band:red",
    )
    uneven = Asymmetry(
        exercise="clamshell",
        measure="band-level reps",
        volume_left=100,
        volume_right=50,
        volume_asymmetry=0.5,
        rom_left_deg=40,
        rom_right_deg=40,
        rom_asymmetry=0.0,
    )
    rushed = Tempo(
        concentric_s=0.6,
        top_hold_s=0,
        eccentric_s=2,
        bottom_pause_s=0,
        rom_deg=40,
        notation="2-0-1-0",
        rushed=True,
    )
    flags = training_flags(_athlete(stalls=(stall,), balance=(uneven,), tempo=rushed, trend="falling"))
    assert _codes(flags) == ["stalled", "asymmetry", "rushed_tempo", "volume_falling"]
    assert "stalled 4 weeks" in flags[0].text and "clamshell 50% less on the right" in flags[1].text
    assert "_" not in flags[0].text + flags[1].text  # exercises in words, as the charts name them


def test_recordings_close_together_are_one_training_session() -> None:
    starts = [T0, T0 + timedelta(minutes=20), T0 + timedelta(hours=2, minutes=59), T0 + timedelta(days=2)]
    assert bouts(starts) == [T0, T0 + timedelta(days=2)]
    assert bouts([]) == []


def test_sessions_against_the_plan_or_the_usual_target() -> None:
    assert [plan_status(n, 3) for n in (2, 3, 4)] == ["below_plan", "on_plan", "above_plan"]
    assert [plan_status(n, None) for n in (1, 2, 3, 4)] == ["below_plan", "on_plan", "on_plan", "above_plan"]


def test_the_lake_weeks_cover_the_window_in_utc() -> None:
    start, end = IsoWeek.parse("2026-W11").bounds(UTC)
    assert lake_weeks(start, end) == ["2026-W11"]
    assert lake_weeks(start - timedelta(hours=1), end) == ["2026-W10", "2026-W11"]


def test_the_html_page_has_a_row_chart_and_cell_for_everyone(report: CohortReport) -> None:
    html = render_cohort_html(report)
    for a in report.athletes:
        assert f"<b>{a.athlete}</b>" in html
    assert html.count("<svg") == len(report.athletes) + 3  # sparklines, heatmap, tempo, balance
    assert len(re.findall(r"<rect [^>]*><title>athlete-", html)) >= len(report.athletes) * len(report.weeks)
    md = render_cohort_markdown(report)
    assert len([line for line in md.splitlines() if line.startswith("| ") and "athlete-" in line]) == 4


def test_the_json_document_lists_athletes_in_attention_order(report: CohortReport, tmp_path: Path) -> None:
    paths = write_cohort_report(report, tmp_path)
    assert (
        sorted(paths) == ["html", "json", "md"] and paths["json"].name == f"cohort-report-{report.week}.json"
    )
    doc = json.loads(paths["json"].read_text())
    assert doc == cohort_report_to_json(report)
    assert [a["athlete"] for a in doc["athletes"]] == [a.athlete for a in report.athletes]
    assert [a["attention"] for a in doc["athletes"]] == [a.attention for a in report.athletes]
    assert doc["week"] == report.week and doc["parameters"]["flag_weights"] == FLAG_WEIGHTS


def test_charts_handle_empty_and_flat_data() -> None:
    assert "<polyline" in sparkline([0.0, 0.0, 0.0])
    period = week_period(IsoWeek.parse("2026-W11"), T0 + timedelta(days=30), UTC)
    empty = CohortReport(
        week="2026-W11", period=period, start=T0, end=T0, generated_at=T0, weeks=("2026-W11",), athletes=()
    )
    assert balance_bars(empty) == ""
    assert "No athletes in the lake" in render_cohort_html(empty)


def _set(
    week: int, reps: int, *, unit: str | None = "band_level", value: float = 2.0, side: str = "left"
) -> SetRow:
    started = T0 + timedelta(weeks=week)
    return SetRow(
        set_id=f"{week}-{side}-{unit}",
        session_id=f"s{week}",
        session_started_at=started,
        set_index=1,
        exercise="clamshell",
        side=side,
        n_reps=reps,
        velocity_loss=None,
        resistance="band:red" if unit == "band_level" else None,
        load_value=value if unit else None,
        load_unit=unit,
    )


def test_a_stall_is_weeks_without_more_load_or_reps_in_one_unit() -> None:
    week = IsoWeek.of((T0 + timedelta(weeks=4)).date())
    bounds = week.bounds(UTC)
    flat = [_set(k, 12) for k in range(5)]  # the same band and reps for five weeks
    weeks = weeks_of((s.session_started_at for s in flat), UTC)
    [stall] = stalls(flat, week, bounds, weeks)
    assert (stall.exercise, stall.side, stall.load_unit, stall.weeks, stall.resistance) == (
        "clamshell",
        "left",
        "band_level",
        4,
        "band:red",
    )
    rising = [_set(k, 10 + k) for k in range(5)]  # a rep more every week
    assert stalls(rising, week, bounds, weeks_of((s.session_started_at for s in rising), UTC)) == []
    unlogged = [_set(k, 12, unit=None) for k in range(5)]  # no load: nothing to judge
    assert stalls(unlogged, week, bounds, weeks_of((s.session_started_at for s in unlogged), UTC)) == []


def test_sides_compare_volume_in_a_shared_unit_else_reps() -> None:
    left, right = _set(0, 12, value=3.0), _set(0, 12, side="right")
    [same] = side_balance([left, right], [])
    assert (same.measure, same.volume_left, same.volume_right) == ("band-level reps", 36.0, 24.0)
    assert same.volume_asymmetry == pytest.approx(1 / 3) and same.rom_asymmetry is None
    [mixed] = side_balance([left, _set(0, 8, side="right", unit="kg", value=1.0)], [])
    assert (mixed.measure, mixed.volume_left, mixed.volume_right) == ("reps", 12.0, 8.0)
    assert side_balance([left], []) == []
