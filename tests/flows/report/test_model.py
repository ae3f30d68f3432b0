"""The weekly report model on a hand-built database (no Prefect): every number computed by hand here."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from flows.report.build import build_weekly_report
from flows.report.model import IsoWeek, WeekFormatError, report_to_json
from flows.report.progression import next_resistance
from storage.report_queries import count_reps, fetch_report_rows


def _monday(week: str) -> datetime:
    d = IsoWeek.parse(week).monday
    return datetime(d.year, d.month, d.day, 9, 0, tzinfo=UTC)


def _program(hand: Any) -> list[Any]:
    """Clamshell (left) on a red band climbing 12 -> 14 -> 15 reps, then a step to green in W45.

    Also: a bodyweight leg raise stuck at 12 reps since W41 (a stall), a standing abduction whose ROM
    collapses after its own red -> green step, and a Tuesday session 23 h after Monday's (a 48 h flag).
    """
    red = {"resistance": "band:red", "load_value": 2.0, "load_unit": "band_level"}
    green = {"resistance": "band:green", "load_value": 3.0, "load_unit": "band_level"}
    bw = {"resistance": "bodyweight", "load_value": 1.0, "load_unit": "bodyweight"}
    R = hand.Rep
    sessions = []
    for week, reps in (("2026-W41", 12), ("2026-W42", 12), ("2026-W43", 14), ("2026-W44", 15)):
        for day in (0, 3):
            sets = [hand.Set(exercise="clamshell", reps=[R()] * reps, **red) for _ in range(3)]
            sets.append(hand.Set(exercise="side_lying_leg_raise", reps=[R()] * 12, **bw))
            sets.append(
                hand.Set(
                    exercise="banded_abduction_standing", side="right", reps=[R(rom_deg=35.0)] * 12, **red
                )
            )
            sessions.append(hand.Session(started_at=_monday(week) + timedelta(days=day), sets=sets))
    w45 = _monday("2026-W45")
    for start in (w45, w45 + timedelta(hours=23), w45 + timedelta(days=4)):
        sets = [hand.Set(exercise="clamshell", reps=[R(rom_deg=38.0)] * 10, **green) for _ in range(3)]
        sets.append(hand.Set(exercise="clamshell", side="right", reps=[R(rom_deg=36.0)] * 8, **green))
        sets.append(hand.Set(exercise="side_lying_leg_raise", reps=[R()] * 12, **bw))
        sets.append(
            hand.Set(exercise="banded_abduction_standing", side="right", reps=[R(rom_deg=28.0)] * 10, **green)
        )
        sessions.append(hand.Session(started_at=start, sets=sets))
    return sessions


@pytest.fixture
def program_db(tmp_path: Path, hand: Any) -> Path:
    db = tmp_path / "hipsync.duckdb"
    hand.build(db, _program(hand))
    return db


def _report(db: Path, week: str) -> dict[str, Any]:
    w = IsoWeek.parse(week)
    start, end = w.bounds(UTC)
    rows = fetch_report_rows(db, start - timedelta(weeks=8), end)
    return report_to_json(build_weekly_report(rows, w, tz=UTC, generated_at=end + timedelta(days=1)))


def _ex(doc: dict[str, Any], exercise: str, side: str | None = "left") -> dict[str, Any]:
    [e] = [e for e in doc["exercises"] if e["exercise"] == exercise and e["side"] == side]
    return e


def test_iso_week_parsing_and_bounds() -> None:
    w = IsoWeek.parse("2026-W45")
    assert str(w) == "2026-W45" and str(w.shift(-45)) == "2025-W52"
    assert w.bounds(UTC) == (datetime(2026, 11, 2, tzinfo=UTC), datetime(2026, 11, 9, tzinfo=UTC))
    assert IsoWeek.last_complete(datetime(2026, 11, 4, 12, tzinfo=UTC)) == IsoWeek.parse("2026-W44")
    with pytest.raises(WeekFormatError):
        IsoWeek.parse("2026-45")
    with pytest.raises(WeekFormatError):
        IsoWeek.parse("2026-W54")


def test_week_before_the_step_advises_moving_to_the_next_band(program_db: Path) -> None:
    doc = _report(program_db, "2026-W44")
    clam = _ex(doc, "clamshell")
    assert clam["sessions"] == 2 and clam["sets"] == 6 and clam["reps"] == 2 * 3 * 15
    assert clam["volume_load"] == pytest.approx(2 * 3 * 15 * 2.0)
    assert clam["load_unit"] == "band_level"
    assert clam["overload"]["status"] == "increase"
    advice = clam["overload"]["advice"]
    assert "every set at 15 reps with controlled tempo (2-1-2-1)" in advice
    assert "step up to green band" in advice and advice.endswith("next: green band x 10-15")
    assert clam["overload"]["status_words"] == "ready to step up"
    # Tempo: ecc 2, bottom pause 1, conc 2, top hold 1 -> "2-1-2-1", eccentric-pause-concentric-hold.
    assert clam["tempo"]["notation"] == "2-1-2-1"
    assert clam["tempo"]["notation_order"] == "eccentric-pause-concentric-hold"
    assert clam["tempo"]["concentric"]["median_s"] == pytest.approx(2.0)
    assert clam["time_under_tension_s"] == pytest.approx(90 * 5.0)
    # W43 had 14 reps per set: +6 reps and 84 -> 90 band-level reps x 2 of volume.
    [band] = clam["volumes"]
    assert band["load_unit"] == "band_level" and band["unit_words"] == "band-level reps"
    assert band["volume_load"] == pytest.approx(180.0) and band["previous_volume_load"] == pytest.approx(
        168.0
    )
    assert band["change_pct"] == pytest.approx(12 / 168, abs=1e-4)
    assert clam["change"]["reps"] == 6
    assert band["trend"]["weeks"] == ["2026-W41", "2026-W42", "2026-W43", "2026-W44"]
    assert band["trend"]["direction"] == "rising"
    assert doc["recovery"]["sessions"] == 2 and doc["recovery"]["flag_under_48h"] is False
    assert doc["recovery"]["min_hours_between_sessions"] == pytest.approx(72.0)


def test_week_after_the_step(program_db: Path) -> None:
    doc = _report(program_db, "2026-W45")
    clam = _ex(doc, "clamshell")
    assert clam["sessions"] == 3 and clam["sets"] == 9 and clam["reps"] == 90
    assert clam["volume_load"] == pytest.approx(90 * 3.0)
    assert clam["resistance"] == "band:green"
    assert clam["overload"]["status"] == "new_resistance"
    assert "stepped up from red band to green band" in clam["overload"]["advice"]
    assert "restart at 10 reps" in clam["overload"]["advice"]
    assert clam["overload"]["next_step"] == "green band x 10-15"
    assert clam["rom_deg"] == pytest.approx(38.0)

    abd = _ex(doc, "banded_abduction_standing", "right")
    assert abd["overload"]["status"] == "rom_dropping"
    assert "range of motion fell from 35 to 28 deg after stepping up" in abd["overload"]["advice"]

    raise_ = _ex(doc, "side_lying_leg_raise")
    assert raise_["overload"]["status"] == "stalled"
    assert "stalled 4 weeks" in raise_["overload"]["advice"]

    rec = doc["recovery"]
    assert rec["sessions"] == 3 and rec["sessions_status"] == "on_target"
    assert rec["min_hours_between_sessions"] == pytest.approx(23.0)
    assert rec["flag_under_48h"] is True
    assert any("23 h" in a for a in rec["advice"])
    [asym] = rec["asymmetry"]
    assert asym["exercise"] == "clamshell"
    # left 90 reps x 3, right 3 x 8 x 3 (both band levels): (270 - 72) / 270
    assert asym["measure"] == "band-level reps"
    assert asym["volume_asymmetry"] == pytest.approx((270 - 72) / 270, abs=1e-3)
    assert rec["acwr"] is not None and "disputed" in rec["acwr_caveat"]


def test_json_reps_equal_the_database(program_db: Path) -> None:
    for week in ("2026-W43", "2026-W44", "2026-W45", "2026-W46"):
        doc = _report(program_db, week)
        start, end = IsoWeek.parse(week).bounds(UTC)
        assert sum(e["reps"] for e in doc["exercises"]) == count_reps(program_db, start, end)
    assert _report(program_db, "2026-W46")["exercises"] == []


def test_empty_database_gives_an_empty_report(tmp_path: Path) -> None:
    doc = _report(tmp_path / "missing.duckdb", "2026-W45")
    assert doc["week"] == "2026-W45" and doc["exercises"] == []
    assert doc["recovery"]["sessions"] == 0 and doc["recovery"]["acwr"] is None


@pytest.mark.parametrize(
    ("resistance", "value", "unit", "expected"),
    [
        ("band:red", 2.0, "band_level", "band:green"),
        ("band:black", 5.0, "band_level", None),
        ("ankle:1kg", 1.0, "kg", "ankle:1.5kg"),
        ("ankle:2kg", 2.0, "kg", "ankle:3kg"),
        ("ankle:5lb", 2.268, "kg", "ankle:7.5lb"),
        ("bodyweight", 1.0, "bodyweight", "band:yellow"),
        ("band:3", 3.0, "band_level", "band:4"),
    ],
)
def test_next_resistance(resistance: str, value: float, unit: str, expected: str | None) -> None:
    assert next_resistance(resistance, value, unit) == expected


def test_a_running_week_is_so_far_and_compared_with_the_same_days() -> None:
    from flows.report.build import week_period

    week = IsoWeek.parse("2026-W49")
    friday = datetime(2026, 12, 4, 17, 0, tzinfo=UTC)
    p = week_period(week, friday, UTC)
    assert (p.complete, p.days, p.label) == (False, 5, "2026-W49 so far (Mon-Fri)")
    assert p.compared_with == "Mon-Fri of 2026-W48"
    assert week.shift(-1).day_bounds(p.days, UTC) == (
        datetime(2026, 11, 23, tzinfo=UTC),
        datetime(2026, 11, 28, tzinfo=UTC),
    )
    assert week_period(week, datetime(2026, 11, 30, 6, tzinfo=UTC), UTC).label == "2026-W49 so far (Mon)"
    done = week_period(week, datetime(2026, 12, 7, 0, tzinfo=UTC), UTC)
    assert (done.complete, done.label, done.compared_with) == (True, "2026-W49", "2026-W48")


def test_a_running_weeks_trend_uses_the_complete_weeks_before_it(program_db: Path) -> None:
    w = IsoWeek.parse("2026-W45")
    start, end = w.bounds(UTC)
    rows = fetch_report_rows(program_db, start - timedelta(weeks=8), end)
    wednesday = start + timedelta(days=2, hours=12)
    doc = report_to_json(build_weekly_report(rows, w, tz=UTC, generated_at=wednesday))
    clam = _ex(doc, "clamshell")
    assert doc["period"]["label"] == "2026-W45 so far (Mon-Wed)"
    assert clam["volumes"][0]["trend"]["weeks"] == ["2026-W41", "2026-W42", "2026-W43", "2026-W44"]
    # Mon and Tue of W45 (2 x 30 reps x green 3) against Mon-Wed of W44 (one session: 45 reps x red 2).
    assert clam["volumes"][0]["volume_load"] == pytest.approx(180.0)
    assert clam["volumes"][0]["previous_volume_load"] == pytest.approx(90.0)
