"""Rendering a :class:`~flows.report.model.WeeklyReport`: HTML (browser or email), Markdown, JSON, table rows.

The HTML uses a single-column table layout with inline styles (what email clients render reliably).
Charts are PNGs either inlined as ``data:`` URIs (a file opened in a browser) or referenced as
``cid:`` content ids (an email whose ``multipart/related`` body carries the images, see
``flows.report.delivery``).
"""

from __future__ import annotations

import base64
import json
import logging
from datetime import timedelta
from pathlib import Path
from typing import Any, Literal

import jinja2

from flows.report.charts import CHARTS, exercise_label
from flows.report.model import TEMPO_ORDER, WeeklyReport, report_to_json

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
        label=exercise_label,
        status_colour=lambda s: _STATUS_COLOURS.get(s, "#607d8b"),
    )
    return env


def render_html(report: WeeklyReport, charts: dict[str, bytes], *, images: ImageMode = "inline") -> str:
    """The HTML report; ``charts`` as from :func:`flows.report.charts.render_charts`."""
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
                f"| {exercise_label(e.exercise)} | {e.side or '-'} | {e.sessions} | {e.sets} | {e.reps} | "
                f"{_num(e.volume_load)} {_unit(e.load_unit)} | {_num(e.time_under_tension_s, 0)} | "
                f"{e.tempo.notation or '-'} | {_num(e.rom_deg, 0)} | {_pct(e.velocity_loss)} | "
                f"{_signed_pct(e.change.volume_load_pct)} | {e.overload.status} |"
            )
        out += ["", f"*Tempo: {TEMPO_ORDER}, whole seconds.", ""]
        out += ["## Progressive overload", ""]
        out += [
            f"- **{exercise_label(e.exercise)}{f' ({e.side})' if e.side else ''}**: {e.overload.advice}"
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
        f"- left/right {exercise_label(a.exercise)}: volume {_num(a.volume_left)} vs {_num(a.volume_right)} "
        f"({_signed_pct(a.volume_asymmetry)})"
        for a in rec.asymmetry
    ]
    out += ["", f"> {rec.acwr_caveat}", ""]
    return "\n".join(out)


def render_json(report: WeeklyReport) -> str:
    return json.dumps(report_to_json(report), indent=2)
