"""Rendering the :class:`~flows.cohort.report.CohortReport`: one HTML page, Markdown, the JSON document.

The HTML is one self-contained file (inline styles and SVG charts, :mod:`flows.cohort.charts`): the
attention table first (one row per athlete, highest attention first, with a volume sparkline), then the
adherence heatmap, the tempo scatter and the left/right bars. :func:`write_cohort_report` writes the
formats asked for atomically as ``cohort-report-YYYY-Www.{html,md,json}``.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Literal

import jinja2

from flows.cohort.charts import adherence_heatmap, balance_bars, sparkline, tempo_scatter
from flows.cohort.report import AthleteWeek, CohortReport
from flows.report.names import TEMPO_ORDER, exercise_name
from flows.report.recovery import ACWR_CAVEAT

__all__ = [
    "FORMATS",
    "Format",
    "cohort_report_to_json",
    "render_cohort_html",
    "render_cohort_markdown",
    "write_cohort_report",
]

Format = Literal["html", "md", "json"]
FORMATS: tuple[Format, ...] = ("html", "md", "json")
TEMPLATES = Path(__file__).parent / "templates"


def _json_default(value: object) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def cohort_report_to_json(report: CohortReport) -> dict[str, Any]:
    """The ``hipsync cohort report --format json`` document: the report's fields, each athlete with its
    ``attention`` score, athletes in attention order (keys in docs/cohort.md)."""
    doc: dict[str, Any] = json.loads(json.dumps(asdict(report), default=_json_default))
    for a, out in zip(report.athletes, doc["athletes"], strict=True):
        out["attention"] = a.attention
    return doc


def _num(value: float | None, digits: int = 0) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def _minutes(seconds: float) -> str:
    return f"{seconds / 60:.1f}"


def _sessions(a: AthleteWeek) -> str:
    return f"{a.sessions_done}/{a.sessions_planned}" if a.sessions_planned else f"{a.sessions_done}/2-3"


def _balance(a: AthleteWeek) -> str:
    worst = max(
        (b for b in a.balance if b.volume_asymmetry is not None),
        key=lambda b: abs(b.volume_asymmetry or 0),
        default=None,
    )
    if worst is None or worst.volume_asymmetry is None:
        return "-"
    side = "L" if worst.volume_asymmetry > 0 else "R"
    return f"{abs(worst.volume_asymmetry):.0%} {side}"


def _stalls(a: AthleteWeek) -> str:
    return (
        ", ".join(
            f"{exercise_name(s.exercise)}{' ' + s.side[0].upper() if s.side else ''} {s.weeks} wk"
            for s in a.stalls
        )
        or "-"
    )


def _period(report: CohortReport) -> str:
    start, end = report.start.astimezone(), (report.end - timedelta(seconds=1)).astimezone()
    days = f"{start:%a %d %b} to {end:%a %d %b %Y}"
    return days if report.period.complete else f"{report.period.label}: {days}, adherence not judged yet"


def render_cohort_markdown(report: CohortReport) -> str:
    """The attention table as Markdown (flags spelled out), then the notes."""
    lines = [
        f"# Cohort report {report.week}",
        "",
        f"{_period(report)}; {len(report.athletes)} athletes, highest attention first.",
        "",
        "| # | athlete | attention | sessions | reps | TUT (min) | trend | tempo | ACWR | L/R | stalls "
        "| flags |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for i, a in enumerate(report.athletes, start=1):
        flags = "; ".join(f.text for f in a.flags) or "-"
        lines.append(
            f"| {i} | {a.athlete} | {a.attention} | {_sessions(a)} | {a.reps} | {_minutes(a.tut_s)} "
            f"| {a.trend} | "
            f"{a.tempo.notation or '-'} | {_num(a.acwr, 2)} | {_balance(a)} | {_stalls(a)} | {flags} |"
        )
    lines += [
        "",
        f"Tempo: {TEMPO_ORDER}, whole seconds. TUT: time under tension (concentric + top hold + eccentric).",
        f"ACWR: {ACWR_CAVEAT}",
    ]
    return "\n".join(lines) + "\n"


def _env() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=jinja2.select_autoescape(["html", "j2"]),
        undefined=jinja2.StrictUndefined,
    )
    env.filters.update(num=_num, minutes=_minutes, sessions=_sessions, balance=_balance, stalls=_stalls)
    return env


def render_cohort_html(report: CohortReport) -> str:
    """The one-page HTML report (self-contained: inline styles and SVG)."""
    sparks = {
        a.athlete: sparkline(
            a.weekly_tut_s,
            label=f"{a.athlete}: weekly time under tension, {report.weeks[0]} to {report.week}",
        )
        for a in report.athletes
    }
    return (
        _env()
        .get_template("cohort_report.html.j2")
        .render(
            r=report,
            period=_period(report),
            generated=f"{report.generated_at.astimezone():%Y-%m-%d %H:%M}",
            sparks=sparks,
            heatmap=adherence_heatmap(report),
            tempo=tempo_scatter(report),
            balance=balance_bars(report),
            tempo_order=TEMPO_ORDER,
            acwr_caveat=ACWR_CAVEAT,
        )
    )


def report_filename(week: str, fmt: str) -> str:
    return f"cohort-report-{week}.{fmt}"


def write_cohort_report(
    report: CohortReport, out_dir: Path, formats: tuple[Format, ...] = FORMATS
) -> dict[str, Path]:
    """Write the formats asked for into ``out_dir`` (temp file + rename each); returns format -> path."""
    out_dir.mkdir(parents=True, exist_ok=True)
    written: dict[str, Path] = {}
    for fmt in formats:
        if fmt == "html":
            text = render_cohort_html(report)
        elif fmt == "md":
            text = render_cohort_markdown(report)
        else:
            text = json.dumps(cohort_report_to_json(report), indent=2)
        path = out_dir / report_filename(report.week, fmt)
        tmp = path.with_suffix(path.suffix + ".tmp")
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(path)
        written[fmt] = path
    return written
