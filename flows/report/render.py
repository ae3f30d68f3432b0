"""Rendering a :class:`~flows.report.WeeklyReport`: HTML (browser or email), Markdown and table rows.

The HTML uses a single-column table layout with inline styles (what email clients render reliably).
Charts are PNGs either inlined as ``data:`` URIs (a file opened in a browser) or referenced as
``cid:`` content ids (an email whose ``multipart/related`` body carries the images, see
``flows.delivery``).
"""

from __future__ import annotations

import base64
import json
import logging
from dataclasses import dataclass
from datetime import timedelta, tzinfo
from pathlib import Path
from typing import Any, Literal

import jinja2

from flows.charts import CHARTS, render_charts
from flows.report import (
    HISTORY_WEEKS,
    TEMPO_ORDER,
    IsoWeek,
    WeeklyReport,
    build_weekly_report,
    report_to_json,
)
from storage.report_queries import fetch_report_rows, store_report

logger = logging.getLogger(__name__)

TEMPLATES = Path(__file__).parent / "templates"
ImageMode = Literal["inline", "cid"]
_STATUS_COLOURS = {
    "increase": "#2e7d32",
    "new_resistance": "#1565c0",
    "building": "#607d8b",
    "stalled": "#ef6c00",
    "rom_dropping": "#c62828",
    "no_data": "#9e9e9e",
}


def chart_cid(name: str) -> str:
    """The Content-ID of a chart image in an email (without angle brackets)."""
    return f"chart-{name}@hipsync"


def _num(value: float | None, digits: int | None = None) -> str:
    if value is None:
        return "-"
    if digits is None:
        return f"{value:.0f}" if abs(value - round(value)) < 1e-9 else f"{value:.1f}"
    return f"{value:.{digits}f}"


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value:.0%}"


def _signed_pct(value: float | None) -> str:
    return "-" if value is None else f"{value:+.0%}"


def _unit(unit: str | None) -> str:
    return {"band_level": "band-level reps", "kg": "kg", "bodyweight": "bodyweight reps"}.get(unit or "", "")


def _label(exercise: str) -> str:
    return exercise.replace("_", " ")


def _env() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=jinja2.select_autoescape(["html", "j2"]),
        undefined=jinja2.StrictUndefined,
    )
    env.filters.update(
        num=_num,
        pct=_pct,
        signed_pct=_signed_pct,
        unit=_unit,
        label=_label,
        status_colour=lambda s: _STATUS_COLOURS.get(s, "#607d8b"),
    )
    return env


def render_html(report: WeeklyReport, charts: dict[str, bytes], *, images: ImageMode = "inline") -> str:
    """The HTML report; ``charts`` as from :func:`flows.charts.render_charts`."""
    if images == "inline":
        src = {k: "data:image/png;base64," + base64.b64encode(v).decode("ascii") for k, v in charts.items()}
    else:
        src = {k: f"cid:{chart_cid(k)}" for k in charts}
    return (
        _env()
        .get_template("report.html.j2")
        .render(
            r=report,
            # Week bounds are local midnights; the end is exclusive, so the last day is the Sunday before.
            period=f"{report.start.astimezone():%a %d %b} - "
            f"{report.end.astimezone() - timedelta(days=1):%a %d %b %Y}",
            generated=f"{report.generated_at:%Y-%m-%d %H:%M} UTC",
            tempo_order=TEMPO_ORDER,
            charts=[(k, CHARTS[k]) for k in CHARTS if k in charts],
            image_src=src,
        )
    )


def table_rows(report: WeeklyReport) -> list[dict[str, Any]]:
    """One flat row per exercise and side (the Prefect table artifact and the Markdown table)."""
    return [
        {
            "exercise": e.exercise,
            "side": e.side or "",
            "sessions": e.sessions,
            "sets": e.sets,
            "reps": e.reps,
            "volume_load": round(e.volume_load, 1),
            "load_unit": e.load_unit or "",
            "tut_s": round(e.time_under_tension_s),
            "tempo": e.tempo.notation or "",
            "rom_deg": None if e.rom_deg is None else round(e.rom_deg, 1),
            "velocity_loss": None if e.velocity_loss is None else round(e.velocity_loss, 3),
            "overload": e.overload.status,
        }
        for e in report.exercises
    ]


def render_markdown(report: WeeklyReport) -> str:
    """The Markdown report (also the Prefect summary artifact)."""
    rec = report.recovery
    out = [f"# Hip training report {report.week}", ""]
    out += [f"- {line}" for line in report.summary]
    out += ["", "## Exercises", ""]
    if report.exercises:
        out.append(
            "| exercise | side | sessions | sets | reps | volume load | TUT (s) | tempo* | ROM (deg) "
            "| vel. loss | vs last week | overload |"
        )
        out.append("|" + "---|" * 12)
        for e in report.exercises:
            out.append(
                f"| {_label(e.exercise)} | {e.side or '-'} | {e.sessions} | {e.sets} | {e.reps} | "
                f"{_num(e.volume_load)} {_unit(e.load_unit)} | {_num(e.time_under_tension_s, 0)} | "
                f"{e.tempo.notation or '-'} | {_num(e.rom_deg, 0)} | {_pct(e.velocity_loss)} | "
                f"{_signed_pct(e.change.volume_load_pct)} | {e.overload.status} |"
            )
        out += ["", f"*Tempo: {TEMPO_ORDER}, whole seconds.", ""]
        out += ["## Progressive overload", ""]
        out += [
            f"- **{_label(e.exercise)}{f' ({e.side})' if e.side else ''}**: {e.overload.advice}"
            for e in report.exercises
        ]
    else:
        out.append("No sets recorded this week.")
    gap = "-" if rec.min_hours_between_sessions is None else f"{rec.min_hours_between_sessions:.0f} h"
    out += [
        "",
        "## Recovery",
        "",
        f"- sessions: {rec.sessions} (target {rec.target_sessions[0]}-{rec.target_sessions[1]}, "
        f"{rec.sessions_status.replace('_', ' ')})",
        f"- shortest gap between sessions: {gap}{' (under 48 h)' if rec.flag_under_48h else ''}",
        f"- acute:chronic load: {_num(rec.acwr, 2)} ({rec.acwr_measure})",
    ]
    out += [
        f"- left/right {_label(a.exercise)}: volume {_num(a.volume_left)} vs {_num(a.volume_right)} "
        f"({_signed_pct(a.volume_asymmetry)})"
        for a in rec.asymmetry
    ]
    out += ["", f"> {rec.acwr_caveat}", ""]
    return "\n".join(out)


def render_json(report: WeeklyReport) -> str:
    return json.dumps(report_to_json(report), indent=2)


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


def compute_report(db_path: Path, week: IsoWeek, *, tz: tzinfo | None = None) -> WeeklyReport:
    """Fetch the rows the report needs (the week and :data:`HISTORY_WEEKS` before it) and build it."""
    start, end = week.bounds(tz)
    rows = fetch_report_rows(db_path, start - timedelta(weeks=HISTORY_WEEKS), end)
    return build_weekly_report(rows, week, tz=tz)


def produce_report(
    db_path: Path,
    week: IsoWeek,
    *,
    reports_dir: Path,
    formats: tuple[Format, ...] = FORMATS,
    store: bool = True,
    tz: tzinfo | None = None,
) -> ProducedReport:
    """Compute, render and save the report for ``week``; the fast path, no Prefect involved.

    Files are written atomically (temp file + rename) as ``hipsync-report-YYYY-Www.{html,md,json}`` in
    ``reports_dir``; with ``store`` each format is also recorded in the ``reports`` table (id ``week-fmt``)
    with the JSON document as content.
    """
    report = compute_report(db_path, week, tz=tz)
    document = report_to_json(report)
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
