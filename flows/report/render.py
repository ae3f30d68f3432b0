"""Rendering a :class:`~flows.report.model.WeeklyReport`: HTML (browser or email), Markdown, JSON, table rows.

Every text comes from the same words (:mod:`flows.report.names`): exercise names, resistances, volume
units, overload verdicts, and one tempo notation explained once under the table.

The HTML uses a single-column table layout with inline styles (what email clients render reliably).
Charts are PNGs either inlined as ``data:`` URIs (a file opened in a browser) or referenced as
``cid:`` content ids (an email whose ``multipart/related`` body carries the images, see
``flows.report.delivery``). Jinja escapes every value in the HTML; the Markdown escapes every value that
comes from the database (:func:`md_text`), keeping the report's own ```command``` spans.
"""

from __future__ import annotations

import base64
import json
import logging
import re
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any, Literal

import jinja2
from markupsafe import Markup, escape

from flows.report.build import refs_text
from flows.report.charts import CHARTS
from flows.report.model import (
    ExerciseReport,
    LoadVolume,
    SetSummary,
    Tempo,
    WeeklyReport,
    local,
    report_to_json,
)
from flows.report.names import (
    TEMPO_EXPLAINED,
    TEMPO_ORDER,
    describe_resistance,
    exercise_name,
    exercise_title,
    volume_unit,
)

logger = logging.getLogger(__name__)

TEMPLATES = Path(__file__).parent / "templates"
ImageMode = Literal["inline", "cid"]
_STATUS_COLOURS = {
    "increase": "#2e7d32",
    "new_resistance": "#1565c0",
    "changed_implement": "#6a1b9a",
    "building": "#607d8b",
    "stalled": "#ef6c00",
    "rom_dropping": "#c62828",
    "no_load": "#9e9e9e",
    "no_data": "#9e9e9e",
}
#: What each set flag means, for the set list.
FLAG_WORDS = {
    "implausible_rom": "ROM left out",
    "low_confidence": "exercise uncertain",
    "load_logged": "load logged",
    "corrected": "corrected",
}
VOLUME_EXPLAINED = (
    "Volume load = reps x resistance, kept apart per unit: band-level reps (band level: yellow 1, red 2, "
    "green 3, blue 4, black 5), kg reps (pounds converted to kg), bodyweight reps."
)
_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>|])")


def chart_cid(name: str) -> str:
    """The Content-ID of a chart image in an email (without angle brackets)."""
    return f"chart-{name}@hipsync"


# ---------------------------------------------------------------------------------------------- numbers


def _num(value: float | None, digits: int | None = None) -> str:
    if value is None:
        return "-"
    if digits is None:
        return f"{value:.0f}" if abs(value - round(value)) < 0.05 else f"{value:.1f}"
    return f"{value:.{digits}f}"


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value:.0%}"


def _signed_pct(value: float | None) -> str:
    return "-" if value is None else f"{round(value, 2) + 0.0:+.0%}"


def _signed(value: float) -> str:
    """``+3``, ``-2``, ``0`` (never ``-0``)."""
    whole = round(value)
    return f"{whole:+d}" if whole else "0"


def resistance_text(resistance: str | None) -> str:
    """A set's resistance in words, ``not logged`` without one."""
    return "not logged" if resistance is None else describe_resistance(resistance)


def volume_text(v: LoadVolume) -> str:
    """``124 band-level reps (red band, green band)``; sets without a load: ``12 reps, no load logged``."""
    if v.volume_load is None:
        return f"{v.reps} reps, no load logged"
    return f"{_num(v.volume_load)} {v.unit_words} ({', '.join(v.resistance_words)})"


def change_text(v: LoadVolume) -> str:
    """The volume change against the compared period: ``-14%``, ``new`` or ``-``."""
    if v.volume_load is None:
        return "-"
    if v.previous_volume_load is None:
        return "new"
    return _signed_pct(v.change_pct)


def trend_text(v: LoadVolume) -> str:
    """``trend W45-W48: rising``."""
    t = v.trend
    return f"trend {t.weeks[0][-3:]}-{t.weeks[-1][-3:]}: {t.direction.replace('_', ' ')}"


def tempo_seconds(t: Tempo) -> str:
    """The four phase medians in notation order, tenths of a second: ``2.1 / 0.9 / 0.8 / 2.6 s``."""
    phases = (t.eccentric, t.bottom_pause, t.concentric, t.top_hold)
    return " / ".join(_num(p.median_s, 1) for p in phases) + " s"


def set_tempo(s: SetSummary) -> str:
    values = (s.eccentric_s, s.bottom_pause_s, s.concentric_s, s.top_hold_s)
    return "-".join("?" if v is None else f"{v:.1f}" for v in values)


def flags_text(s: SetSummary) -> str:
    return ", ".join(FLAG_WORDS.get(f, f) for f in s.flags)


def exercise_facts(e: ExerciseReport, compared_with: str) -> str:
    """Time under tension, tempo, ROM and velocity loss in one sentence."""
    rom = f"ROM {_num(e.rom_deg, 0)} deg"
    if e.change.rom_deg is not None:
        rom += f" ({_signed(e.change.rom_deg)} deg vs {compared_with})"
    if e.rom_sets_left_out:
        rom += f", {e.rom_sets_left_out} set(s) left out"
    return (
        f"time under tension {_num(e.time_under_tension_s, 0)} s; tempo {e.tempo.notation or '-'} "
        f"({tempo_seconds(e.tempo)}); {rom}; velocity loss {_pct(e.velocity_loss)}"
    )


def period_text(report: WeeklyReport) -> str:
    """``Mon 30 Nov - Fri 04 Dec 2026`` (local dates; the end is the last day covered)."""
    first = local(report.start)
    days = report.period.days if report.period.days else 1
    last = first + timedelta(days=days - 1)
    return f"{first:%a %d %b} - {last:%a %d %b %Y}"


# ------------------------------------------------------------------------------------------------ HTML


def _code(text: str) -> Markup:
    """Escape ``text`` and show its ```command``` spans as code."""
    parts = str(text).split("`")
    out = [
        Markup('<code style="font-size:12px;background:#f1f3f5;padding:0 3px;">{}</code>').format(p)
        if i % 2
        else escape(p)
        for i, p in enumerate(parts)
    ]
    return Markup("").join(out)


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
        unit=volume_unit,
        name=exercise_name,
        extitle=exercise_title,
        resistance=resistance_text,
        volume=volume_text,
        change=change_text,
        trend=trend_text,
        tempo_seconds=tempo_seconds,
        set_tempo=set_tempo,
        flags=flags_text,
        refs=refs_text,
        facts=exercise_facts,
        code=_code,
        local=local,
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
            period=period_text(report),
            generated=f"{report.generated_at:%Y-%m-%d %H:%M} UTC",
            tempo_explained=TEMPO_EXPLAINED,
            tempo_order=TEMPO_ORDER,
            volume_explained=VOLUME_EXPLAINED,
            charts=[(k, CHARTS[k]) for k in CHARTS if k in charts],
            image_src=src,
        )
    )


# ---------------------------------------------------------------------------------------------- tables


def table_rows(report: WeeklyReport) -> list[dict[str, Any]]:
    """One flat row per exercise and side (the Prefect table artifact)."""
    return [
        {
            "exercise": exercise_title(e.exercise, e.side),
            "sessions": e.sessions,
            "sets": e.sets,
            "reps": e.reps,
            "volume_load": "; ".join(volume_text(v) for v in e.volumes),
            "volume_change": "; ".join(
                f"{change_text(v)} vs {report.period.compared_with}" for v in e.volumes
            ),
            "tempo": f"{e.tempo.notation} ({TEMPO_ORDER}, s)" if e.tempo.notation else "",
            "rom_deg": None if e.rom_deg is None else round(e.rom_deg, 1),
            "overload": "; ".join(o.status_words for o in e.overloads),
            "next": "; ".join(o.next_step for o in e.overloads),
        }
        for e in report.exercises
    ]


# -------------------------------------------------------------------------------------------- Markdown


def md_text(text: object) -> str:
    """Markdown-escape ``text`` outside its ```command``` spans (which the report itself writes)."""
    parts = str(text).split("`")
    return "`".join(p if i % 2 else _MD_SPECIAL.sub(r"\\\1", p) for i, p in enumerate(parts))


def _md_row(cells: Sequence[object]) -> str:
    return "| " + " | ".join(md_text(c).replace("\n", " ") for c in cells) + " |"


def _md_exercise_table(report: WeeklyReport) -> list[str]:
    head = [
        "exercise", "sessions", "sets", "reps", "volume load", f"vs {report.period.compared_with}",
        "tempo (s, see below)", "ROM (deg)", "overload",
    ]  # fmt: skip
    out = [_md_row(head), "|" + "---|" * len(head)]
    for e in report.exercises:
        out.append(
            _md_row(
                [
                    exercise_title(e.exercise, e.side),
                    e.sessions,
                    e.sets,
                    e.reps,
                    "; ".join(volume_text(v) for v in e.volumes),
                    "; ".join(change_text(v) for v in e.volumes),
                    e.tempo.notation or "-",
                    _num(e.rom_deg, 0),
                    "; ".join(o.status_words for o in e.overloads),
                ]
            )
        )
    out += ["", md_text(f"{TEMPO_EXPLAINED} {VOLUME_EXPLAINED}"), ""]
    return out


def _md_exercise_details(report: WeeklyReport) -> list[str]:
    out = ["## Advice per exercise, and the sets behind it", ""]
    for e in report.exercises:
        out += [f"### {md_text(exercise_title(e.exercise, e.side))}", ""]
        out += [f"- **{md_text(o.status_words)}**: {md_text(o.advice)}" for o in e.overloads]
        for v in e.volumes:
            out.append(
                f"- volume: {md_text(volume_text(v))}; {md_text(change_text(v))} vs "
                f"{md_text(report.period.compared_with)}; {md_text(trend_text(v))}"
            )
        out.append(f"- {md_text(exercise_facts(e, report.period.compared_with))}")
        out.append(f"- sets: {md_text(refs_text(e.set_details))}")
        out += [f"- note: {md_text(n)}" for n in e.notes]
        out.append("")
    return out


def _md_sessions(report: WeeklyReport) -> list[str]:
    out = ["## Sessions", ""]
    if not report.sessions:
        return [*out, "No sessions with sets.", ""]
    head = ["session", "started", "sets", "reps", "minutes", "RPE", "RPE x minutes"]
    out += [_md_row(head), "|" + "---|" * len(head)]
    for s in report.sessions:
        minutes = None if s.duration_s is None else s.duration_s / 60
        out.append(
            _md_row(
                [
                    s.session_id[:8],
                    s.label,
                    s.sets,
                    s.reps,
                    _num(minutes, 0),
                    _num(s.rpe),
                    _num(s.rpe_load, 0),
                ]
            )
        )
    rated = sum(1 for s in report.sessions if s.rpe is not None)
    mean = "-" if report.rpe_mean is None else f"{report.rpe_mean:.1f}"
    out += ["", md_text(f"Average RPE {mean} ({rated} of {len(report.sessions)} sessions rated)."), ""]
    return out


def _md_unrecognised(report: WeeklyReport) -> list[str]:
    u = report.unrecognised
    if not u:
        return []
    return [
        "## Unrecognised sets",
        "",
        md_text(
            f"unrecognised sets: {len(u)} ({sum(s.reps for s in u)} reps), counted in no exercise: "
            f"{refs_text(u)}; see `hipsync sessions show {u[0].session_id[:8]}`."
        ),
        "",
    ]


def _md_recovery(report: WeeklyReport) -> list[str]:
    rec = report.recovery
    gap = "-" if rec.min_hours_between_sessions is None else f"{rec.min_hours_between_sessions:.0f} h"
    out = [
        "## Recovery",
        "",
        f"- sessions: {rec.sessions} (target {rec.target_sessions[0]}-{rec.target_sessions[1]} a week, "
        f"{rec.sessions_status.replace('_', ' ')}{'' if report.period.complete else ' so far'})",
        f"- shortest gap between sessions: {gap}{' (under 48 h)' if rec.flag_under_48h else ''}",
        f"- acute:chronic load: {_num(rec.acwr, 2)} ({md_text(rec.acwr_measure)})",
    ]
    out += [
        md_text(
            f"- left/right {exercise_name(a.exercise)}: {_num(a.volume_left)} vs {_num(a.volume_right)} "
            f"{a.measure} ({_signed_pct(a.volume_asymmetry)})"
        )
        for a in rec.asymmetry
    ]
    return [*out, "", f"> {md_text(rec.acwr_caveat)}", ""]


def _md_sets(report: WeeklyReport) -> list[str]:
    rows = [s for e in report.exercises for s in e.set_details] + list(report.unrecognised)
    if not rows:
        return []
    head = [
        "exercise",
        "session",
        "set",
        "resistance",
        "reps",
        f"tempo ({TEMPO_ORDER}, s)",
        "ROM (deg)",
        "marks",
    ]
    out = ["## Every set", "", _md_row(head), "|" + "---|" * len(head)]
    for s in rows:
        out.append(
            _md_row(
                [
                    exercise_title(s.exercise, s.side),
                    s.session_id[:8],
                    s.set_number,
                    resistance_text(s.resistance),
                    s.reps,
                    set_tempo(s),
                    _num(s.rom_deg, 0),
                    flags_text(s) or "-",
                ]
            )
        )
    return [*out, ""]


def render_markdown(report: WeeklyReport) -> str:
    """The Markdown report (also the Prefect summary artifact and the email's plain part)."""
    out = [f"# Hip training report {report.period.label}", ""]
    out += [
        f"{period_text(report)}; compared with {report.period.compared_with}; generated "
        f"{report.generated_at:%Y-%m-%d %H:%M} UTC",
        "",
    ]
    out += [f"- {md_text(line)}" for line in report.summary]
    if report.personal_records:
        out += ["", "## New records", ""] + [f"- {md_text(line)}" for line in report.personal_records]
    out += ["", "## Exercises", ""]
    if report.exercises:
        out += _md_exercise_table(report) + _md_exercise_details(report)
    else:
        out += ["No recognised sets this week.", ""]
    out += _md_unrecognised(report) + _md_sessions(report) + _md_recovery(report) + _md_sets(report)
    return "\n".join(out)


def render_json(report: WeeklyReport) -> str:
    return json.dumps(report_to_json(report), indent=2)
