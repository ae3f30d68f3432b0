"""``hipsync report`` through the real root app: JSON on stdout, the HTML file's path, a clear bad week."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from flows.report.model import IsoWeek
from hipsync.cli import app
from storage import paths
from storage.report_queries import count_reps


def test_report_prints_json_matching_the_database(hipsync_home: Path, hand: Any) -> None:
    db = paths.db_path(hipsync_home)
    monday = datetime(2026, 11, 2, 8, 30, tzinfo=UTC)  # ISO week 2026-W45
    hand.build(
        db, [hand.Session(started_at=monday, sets=[hand.Set(), hand.Set(exercise="side_lying_leg_raise")])]
    )
    result = CliRunner().invoke(app, ["report", "--week", "2026-W45", "--format", "json"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    start, end = IsoWeek.parse("2026-W45").bounds()
    assert doc["week"] == "2026-W45"
    assert sum(e["reps"] for e in doc["exercises"]) == count_reps(db, start, end) == 24


def test_report_html_prints_the_file_path(hipsync_home: Path, hand: Any) -> None:
    monday = datetime(2026, 11, 2, 8, 30, tzinfo=UTC)
    hand.build(paths.db_path(hipsync_home), [hand.Session(started_at=monday, sets=[hand.Set()])])
    result = CliRunner().invoke(app, ["report", "--week", "2026-W45"])
    assert result.exit_code == 0, result.output
    assert Path(result.stdout.strip()) == paths.reports_dir() / "hipsync-report-2026-W45.html"


def test_report_rejects_a_malformed_week(hipsync_home: Path) -> None:
    result = CliRunner().invoke(app, ["report", "--week", "2026-45"])
    assert result.exit_code == 2 and "ISO week" in result.output


def test_report_without_a_week_shows_the_latest_sessions_week_in_every_format(
    hipsync_home: Path, hand: Any
) -> None:
    sunday = datetime(2026, 11, 8, 18, 0, tzinfo=UTC)  # the last day of 2026-W45
    hand.build(paths.db_path(hipsync_home), [hand.Session(started_at=sunday, sets=[hand.Set()])])
    runner = CliRunner()
    doc = json.loads(runner.invoke(app, ["report", "--format", "json"]).stdout)
    md = runner.invoke(app, ["report", "--format", "md"]).stdout
    html = Path(runner.invoke(app, ["report"]).stdout.strip())
    week = IsoWeek.of(sunday.astimezone().date())
    assert doc["week"] == str(week) and md.startswith(f"# Hip training report {week}")
    assert html.name == f"hipsync-report-{week}.html"
