"""``hipsync sessions`` (80 columns), ``sessions show``, ``history`` and ``records``, and the report's
"New personal records" section, on hand-built databases."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from hipsync.cli import app
from hipsync.cli.history import resolve_exercise, sparkline

MON = datetime(2026, 11, 2, 8, 0, tzinfo=UTC)  # ISO week 2026-W45


def _program(hand: Any) -> list[Any]:
    """Three weeks of clamshells: 10 then 12 reps at band:red, then 8 at band:green; ROM 40, 42, 38 deg."""
    s = hand.Set
    r = hand.Rep
    return [
        hand.Session(started_at=MON, sets=[s(reps=[r(rom_deg=40.0)] * 10)] * 3),
        hand.Session(
            started_at=MON + timedelta(days=7),
            sets=[s(reps=[r(rom_deg=42.0)] * 12)] * 3
            + [
                s(
                    exercise="single_leg_glute_bridge",
                    resistance="bodyweight",
                    load_value=1.0,
                    load_unit="bodyweight",
                )
            ],
        ),
        hand.Session(
            started_at=MON + timedelta(days=14),
            sets=[s(reps=[r(rom_deg=38.0)] * 8, resistance="band:green", load_value=3.0)] * 3,
        ),
    ]


@pytest.fixture
def db(tmp_path: Path, hand: Any) -> Path:
    path = tmp_path / "h.duckdb"
    hand.build(path, _program(hand))
    return path


def _run(*args: str) -> Any:
    result = CliRunner().invoke(app, list(args), env={"COLUMNS": "80"})
    return result


def test_sessions_fit_80_columns_with_short_names_and_minutes(db: Path) -> None:
    r = _run("sessions", "--db", str(db))
    assert r.exit_code == 0, r.output
    lines = r.output.splitlines()
    assert max(len(x) for x in lines) <= 80
    assert len(lines) == 4  # header + 3 sessions, nothing wrapped
    assert "clam, bridge" in r.output and "banded_ab" not in r.output
    assert " min " in lines[1] and ":" not in lines[1].split()[3]  # "8 min", not "8:00"


def test_sessions_show_numbers_sets_as_log_takes_them(db: Path) -> None:
    r = _run("sessions", "show", "last", "--db", str(db))
    assert r.exit_code == 0, r.output
    rows = [x.split() for x in r.output.splitlines() if x[:1].isdigit()]
    assert [x[0] for x in rows] == ["1", "2", "3"]
    assert all(x[1] == "clam" and x[3] == "8" and x[4] == "band:green" for x in rows)
    assert "2.0/1.0/2.0/1.0" in r.output and "38 deg" in r.output  # up/top/down/pause s, ROM
    # The numbers are the ones `hipsync log` takes: correct set 2 and it is marked.
    sid = r.output.split()[1]
    assert _run("log", sid, "2", "--load", "band:blue", "--db", str(db)).exit_code == 0
    shown = _run("sessions", "show", sid, "--db", str(db), "--json")
    doc = json.loads(shown.stdout)
    assert [(s["set_index"], s["resistance"], s["corrected"]) for s in doc["sets"]] == [
        (1, "band:green", False),
        (2, "band:blue", True),
        (3, "band:green", False),
    ]
    marked = _run("sessions", "show", sid, "--db", str(db))
    assert "band:blue *" in marked.output and "corrected by you" in marked.output


def test_sessions_show_an_unknown_session_is_one_line(db: Path) -> None:
    r = _run("sessions", "show", "abcdef99", "--db", str(db))
    assert r.exit_code == 2 and "no session starts with 'abcdef99'" in r.output


def test_history_charts_and_lists_one_exercise(db: Path) -> None:
    r = _run("history", "clam", "--db", str(db))
    assert r.exit_code == 0, r.output
    assert r.output.startswith("clam: 3 sessions, 90 reps")
    assert "reps/session  ▅█▁  30 -> 24 reps" in r.output
    assert "ROM           ▅█▁  40 -> 38 deg" in r.output
    assert max(len(x) for x in r.output.splitlines()) <= 80
    assert _run("history", "bridge", "--db", str(db)).output.startswith("bridge: 1 sessions, 12 reps")


def test_history_rejects_an_ambiguous_or_unknown_exercise() -> None:
    assert resolve_exercise("clam") == "clamshell"
    assert resolve_exercise("Abd Seated") == "banded_abduction_seated"
    assert resolve_exercise("single") == "single_leg_glute_bridge"
    with pytest.raises(Exception, match="not one exercise"):
        resolve_exercise("abd")  # standing or seated?
    r = _run("history", "squat")
    assert r.exit_code == 2 and "clamshell" in r.output


def test_sparkline_spans_lowest_to_highest() -> None:
    assert sparkline([1.0, 2.0, 3.0]) == "▁▅█"
    assert sparkline([5.0, None, 5.0]) == "▁ ▁"


def test_records_with_the_date_each_was_set(db: Path) -> None:
    r = _run("records", "--db", str(db))
    assert r.exit_code == 0, r.output
    lines = {" ".join(x.split()[:4]): x for x in r.output.splitlines()}
    assert "2026-11-09" in lines["clam most reps 12"]  # 12 at band:red, week 2
    assert "2026-11-16" in lines["clam most reps 8"]  # 8 at band:green, week 3
    assert "band:green" in lines["clam heaviest band:green 2026-11-16"]
    assert "2026-11-09" in lines["clam best ROM 42"]
    assert "2026-11-09" in lines["clam week volume 72"]  # 36 reps x band level 2 beats 24 x 3


def test_the_weekly_report_names_new_records(db: Path, tmp_path: Path) -> None:
    from flows.report.model import IsoWeek
    from flows.report.produce import produce_report

    produced = produce_report(db, IsoWeek.parse("2026-W46"), reports_dir=tmp_path / "r", store=False)
    md = produced.paths["md"].read_text()
    section = md.split("## New personal records", 1)[1]
    assert "clamshell: most reps 12 at band:red (was 10 at band:red)" in section
    assert "clamshell: best ROM 42 deg (was 40 deg)" in section
    assert "glute bridge" not in section  # its first week: nothing to beat
    assert "New personal records" in produced.paths["html"].read_text()
    kinds = {(n["exercise"], n["kind"]) for n in produced.document["new_records"]}
    assert ("clamshell", "weekly_volume") in kinds
    first = produce_report(db, IsoWeek.parse("2026-W45"), reports_dir=tmp_path / "r", store=False)
    assert first.document["new_records"] == [] and "New personal records" not in first.paths["md"].read_text()
