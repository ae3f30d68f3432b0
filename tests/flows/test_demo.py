"""``hipsync demo`` end to end (shortened live session), run twice in the same home."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pytestmark = [pytest.mark.prefect, pytest.mark.slow]


def test_demo_end_to_end_and_again(prefect_harness: None, hipsync_home: Path) -> None:
    from flows.demo import run_demo
    from flows.report.model import IsoWeek
    from storage import paths
    from storage.report_queries import count_reps, list_reports

    # Two weeks of history and 90 s of the live session streamed 25x: the pipeline, not the duration.
    first = run_demo(hipsync_home, weeks=2, speed=25.0, live_max_s=90.0)
    assert first.report_html.exists() and first.report_html.parent == paths.reports_dir(hipsync_home)
    assert first.history_imported >= 2 and first.history_skipped == 0
    assert first.live_samples > 0.9 * 90 * 52
    [live] = first.synced
    assert live["spool"] == str(first.live_spool) and live["status"] in ("analysed", "imported")

    doc = json.loads(first.report_html.with_suffix(".json").read_text())
    start, end = IsoWeek.parse(first.week).bounds()
    assert doc["week"] == first.week
    # Unrecognised sets count in the week's totals, not in any exercise.
    reps = count_reps(paths.db_path(hipsync_home), start, end)
    assert doc["totals"]["reps"] == reps == sum(e["reps"] for e in doc["exercises"] + doc["unrecognised"])
    assert {r[2] for r in list_reports(paths.db_path(hipsync_home), first.week)} == {"html", "md", "json"}

    second = run_demo(hipsync_home, weeks=2, speed=25.0, live_max_s=90.0)
    assert second.history_imported == 0 and second.history_skipped == first.history_imported
    statuses = sorted(r["status"] for r in second.synced)
    assert statuses == sorted([live["status"], "skipped"])  # the new live spool, and the old one skipped
    assert second.report_html == first.report_html
