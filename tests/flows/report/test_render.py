"""Rendering and saving a report (no Prefect): HTML with charts, Markdown, JSON, the reports table."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

from flows.report.charts import render_charts
from flows.report.model import IsoWeek
from flows.report.produce import produce_report
from flows.report.render import chart_cid, render_html, render_markdown
from storage.report_queries import count_reps, list_reports

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _db(tmp_path: Path, hand: Any) -> Path:
    return _db_in(tmp_path / "hipsync.duckdb", hand)


def _db_in(db: Path, hand: Any) -> Path:
    monday = datetime(2026, 11, 2, 8, 30, tzinfo=UTC)
    sessions = []
    for week in range(3):
        for day in (0, 2, 4):
            t = monday + timedelta(weeks=week - 2, days=day)
            sets = [hand.Set(reps=[hand.Rep(rom_deg=40.0 + week)] * (10 + week)) for _ in range(3)]
            sets.append(hand.Set(exercise="single_leg_glute_bridge", side="left", reps=[hand.Rep()] * 12))
            sessions.append(hand.Session(started_at=t, sets=sets))
    hand.build(db, sessions)
    return db


class _Images(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.srcs: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "img":
            self.srcs.append(dict(attrs)["src"] or "")


def test_produce_report_writes_and_stores_every_format(tmp_path: Path, hand: Any) -> None:
    db = _db(tmp_path, hand)
    week = IsoWeek.parse("2026-W45")
    out = produce_report(db, week, reports_dir=tmp_path / "reports", tz=UTC)
    assert set(out.paths) == {"html", "md", "json"}
    assert all(p.exists() and p.parent == tmp_path / "reports" for p in out.paths.values())
    doc = json.loads(out.paths["json"].read_text())
    start, end = week.bounds(UTC)
    assert sum(e["reps"] for e in doc["exercises"]) == count_reps(db, start, end) == 3 * (3 * 12 + 12)
    for key in ("exercise", "side", "sessions", "sets", "reps", "volume_load", "load_unit",
                "time_under_tension_s", "tempo", "rom_deg", "velocity_loss", "overload"):  # fmt: skip
        assert key in doc["exercises"][0]
    assert {"status", "advice"} <= set(doc["exercises"][0]["overload"])
    assert {"sessions", "min_hours_between_sessions", "acwr"} <= set(doc["recovery"])
    stored = {r[2]: r for r in list_reports(db, "2026-W45")}
    assert set(stored) == {"html", "md", "json"} and stored["html"][3] == str(out.paths["html"])
    # A second run replaces, not duplicates, the stored rows.
    produce_report(db, week, reports_dir=tmp_path / "reports", formats=("json",), tz=UTC)
    assert len(list_reports(db, "2026-W45")) == 3


def test_html_inlines_three_png_charts_or_references_them_by_cid(tmp_path: Path, hand: Any) -> None:
    db = _db(tmp_path, hand)
    out = produce_report(db, IsoWeek.parse("2026-W45"), reports_dir=tmp_path / "r", formats=("html",), tz=UTC)
    charts = render_charts(out.report)
    assert set(charts) == {"volume", "tempo", "rom"} and all(v.startswith(PNG_MAGIC) for v in charts.values())
    parser = _Images()
    parser.feed(out.paths["html"].read_text())
    assert len(parser.srcs) == 3 and all(s.startswith("data:image/png;base64,") for s in parser.srcs)
    cid_html = render_html(out.report, charts, images="cid")
    parser = _Images()
    parser.feed(cid_html)
    assert parser.srcs == [f"cid:{chart_cid(k)}" for k in ("volume", "tempo", "rom")]
    assert "eccentric-pause-concentric-hold" in cid_html and "<style" not in cid_html


def test_markdown_has_the_table_and_the_caveat(tmp_path: Path, hand: Any) -> None:
    db = _db(tmp_path, hand)
    out = produce_report(db, IsoWeek.parse("2026-W45"), reports_dir=tmp_path / "r", formats=("md",), tz=UTC)
    md = render_markdown(out.report)
    assert md.startswith("# Hip training report 2026-W45")
    assert "| clamshell (left) | 3 | 9 | 108 | 216 band-level reps (red band) |" in md
    assert "disputed" in md


def test_empty_week_still_renders(tmp_path: Path) -> None:
    out = produce_report(
        tmp_path / "none.duckdb", IsoWeek.parse("2026-W01"), reports_dir=tmp_path, store=False
    )
    html = out.paths["html"].read_text()
    assert "No recognised sets this week." in html and "No sessions with sets." in html
