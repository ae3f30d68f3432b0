"""Produce the weekly report: rows from the database -> model -> HTML/Markdown/JSON files -> ``reports``.

The fast path, with no Prefect involved: ``hipsync report`` calls :func:`produce_report` directly and the
``weekly-report`` flow (:mod:`flows.report_flow`) wraps it in a task. Files are written atomically
(temp file + rename) as ``hipsync-report-YYYY-Www.{html,md,json}``.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo
from pathlib import Path
from typing import Any, Literal

from flows.report.build import build_weekly_report
from flows.report.charts import render_charts
from flows.report.model import HISTORY_WEEKS, IsoWeek, WeeklyReport, report_to_json, week_of
from flows.report.records import new_records, records_json, with_records
from flows.report.render import render_html, render_markdown
from storage.report_queries import fetch_report_rows, latest_session_start, store_report

logger = logging.getLogger(__name__)

Format = Literal["html", "md", "json"]
FORMATS: tuple[Format, ...] = ("html", "md", "json")


@dataclass(frozen=True, slots=True, kw_only=True)
class ProducedReport:
    """A computed report, its files under ``reports_dir`` and the JSON document stored in the database."""

    week: str
    report: WeeklyReport
    document: dict[str, Any]
    paths: dict[str, Path]
    charts: dict[str, bytes]


def report_filename(week: str, fmt: str) -> str:
    return f"hipsync-report-{week}.{fmt}"


def default_week(db_path: Path, *, tz: tzinfo | None = None, now: datetime | None = None) -> IsoWeek:
    """The week ``hipsync report`` shows without ``--week``, whatever the format: the week of the latest
    stored session (a week still running is reported "so far"), or the current week when nothing is
    stored."""
    latest = latest_session_start(db_path)
    return week_of(latest if latest is not None else now or datetime.now().astimezone(), tz)


def compute_report(
    db_path: Path, week: IsoWeek, *, tz: tzinfo | None = None, now: datetime | None = None
) -> WeeklyReport:
    """Fetch the rows the report needs (the week and :data:`HISTORY_WEEKS` before it) and build it as of
    ``now`` (default: the current time)."""
    start, end = week.bounds(tz)
    rows = fetch_report_rows(db_path, start - timedelta(weeks=HISTORY_WEEKS), end)
    return build_weekly_report(rows, week, tz=tz, generated_at=now)


def produce_report(
    db_path: Path,
    week: IsoWeek,
    *,
    reports_dir: Path,
    formats: tuple[Format, ...] = FORMATS,
    store: bool = True,
    tz: tzinfo | None = None,
    now: datetime | None = None,
) -> ProducedReport:
    """Compute, render and save the report for ``week``; the fast path, no Prefect involved.

    Files are written atomically (temp file + rename) as ``hipsync-report-YYYY-Www.{html,md,json}`` in
    ``reports_dir``; with ``store`` each format is also recorded in the ``reports`` table (id ``week-fmt``)
    with the JSON document as content. ``now`` (default: the current time) decides whether the week is
    still running.
    """
    report = compute_report(db_path, week, tz=tz, now=now)
    document = report_to_json(report)
    records = new_records(db_path, week, tz=tz)
    document["new_records"] = records_json(records)
    charts = render_charts(report) if "html" in formats else {}
    reports_dir.mkdir(parents=True, exist_ok=True)
    paths: dict[str, Path] = {}
    for fmt in formats:
        if fmt == "html":
            text = render_html(report, charts, images="inline")
        elif fmt == "md":
            text = render_markdown(report)
        else:
            text = json.dumps(document, indent=2)
        text = with_records(fmt, text, records)
        path = reports_dir / report_filename(str(week), fmt)
        tmp = path.with_suffix(path.suffix + ".tmp")
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(path)
        paths[fmt] = path
        if store:
            store_report(
                db_path, report_id=f"{week}-{fmt}", week=str(week), fmt=fmt, path=path, content=document
            )
    logger.info("report %s written: %s", week, ", ".join(str(p) for p in paths.values()))
    return ProducedReport(week=str(week), report=report, document=document, paths=paths, charts=charts)
