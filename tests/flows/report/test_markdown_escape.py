"""The Markdown report escapes what comes from the data (issue 19, item 7): a resistance or side a user
typed (or a database edited by hand) cannot add links, HTML, emphasis or table cells to it. (The escaping
itself is ``flows.report.render.md_text``, from the report rework; this pins it end to end.)"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from flows.report.model import IsoWeek
from flows.report.produce import compute_report
from flows.report.render import render_markdown

HOSTILE = "band:red | <img src=x onerror=alert(1)> [win](http://evil.example) **loud**\n# heading"


def test_report_markdown_escapes_user_strings(tmp_path: Path, hand: Any) -> None:
    monday = datetime(2026, 11, 2, 8, 30, tzinfo=UTC)
    sessions = [
        hand.Session(
            started_at=monday + timedelta(days=d),
            sets=[hand.Set(resistance=HOSTILE, side="left", reps=[hand.Rep()] * 12) for _ in range(3)],
        )
        for d in (0, 2, 4)
    ]
    db = tmp_path / "hipsync.duckdb"
    hand.build(db, sessions)
    md = render_markdown(compute_report(db, IsoWeek.parse("2026-W45"), tz=UTC))
    assert "\\<img" in md  # there, but inert
    assert not re.search(r"(?<!\\)<img|(?<!\\)\]\(http|(?<!\\)\*(?<!\\)\*loud", md)
    assert "\n# heading" not in md
    tables = [block.splitlines() for block in re.split(r"\n(?!\|)[^\n]*", "\n" + md) if block.strip()]
    cells = [{row.count("|") - row.count("\\|") for row in rows if row.startswith("|")} for rows in tables]
    assert cells and all(len(c) == 1 for c in cells if c)  # every row of a table as wide as its head
