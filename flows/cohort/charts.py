"""The cohort report's charts as inline SVG: where a coach would rather look than read.

Hand-written SVG rather than matplotlib: a hundred athletes need a hundred sparklines, and SVG text costs
microseconds, scales in any browser and keeps the page one self-contained file. Each chart carries a
title and axis labels with units; every mark has a ``<title>`` (the tooltip) naming athlete and value.

- :func:`sparkline`: weekly time under tension of one athlete (s), the report week last;
- :func:`adherence_heatmap`: athletes x weeks, training sessions done against planned;
- :func:`tempo_scatter`: each athlete's median lifting (concentric) against lowering (eccentric) time (s),
  with the controlled minimum marked;
- :func:`balance_bars`: left/right volume difference per athlete and exercise, the advice threshold shaded.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

from flows.cohort.report import CohortReport
from flows.report.names import exercise_name
from flows.report.progression import MIN_CONTROLLED_PHASE_S
from flows.report.recovery import ASYMMETRY_ADVICE_FRACTION

__all__ = ["adherence_heatmap", "balance_bars", "sparkline", "tempo_scatter"]

_FONT = "font-family:Helvetica,Arial,sans-serif"
_ROW_H = 14
_LABEL_W = 96


def _svg(width: float, height: float, body: Sequence[str], title: str) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0f}" height="{height:.0f}" '
        f'viewBox="0 0 {width:.0f} {height:.0f}" role="img" aria-label="{escape(title)}" style="{_FONT}">'
        f"<title>{escape(title)}</title>{''.join(body)}</svg>"
    )


def _rect(x: float, y: float, w: float, h: float, fill: str) -> str:
    return f'<rect x="{x:.1f}" y="{y:.1f}" width="{w:.1f}" height="{h:.1f}" fill="{fill}"/>'


def _line(x1: float, y1: float, x2: float, y2: float) -> str:
    return f'<line x1="{x1:.1f}" y1="{y1:.1f}" x2="{x2:.1f}" y2="{y2:.1f}" stroke="#444"/>'


def sparkline(values: Sequence[float], *, width: int = 110, height: int = 24, label: str = "") -> str:
    """A line of ``values`` (oldest first), the last point marked; flat at the bottom when all are zero."""
    top = max(values, default=0.0) or 1.0
    n = max(len(values) - 1, 1)
    pts = [(2 + i * (width - 4) / n, height - 3 - (v / top) * (height - 6)) for i, v in enumerate(values)]
    line = " ".join(f"{x:.1f},{y:.1f}" for x, y in pts)
    body = [f'<polyline points="{line}" fill="none" stroke="#1b4965" stroke-width="1.5"/>']
    if pts:
        x, y = pts[-1]
        body.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="2.5" fill="#d95f02"/>')
    return _svg(width, height, body, label or "weekly time under tension")


def _cell_colour(done: int | None, planned: int | None) -> str:
    if done is None:
        return "#e0e0e0"
    if planned:
        ratio = done / planned
        if ratio >= 1:
            return "#2e7d32"
        return "#f9a825" if ratio >= 0.5 else ("#c62828" if done == 0 else "#ef6c00")
    return "#2e7d32" if done >= 2 else ("#c62828" if done == 0 else "#f9a825")


def adherence_heatmap(report: CohortReport) -> str:
    """Rows: athletes in attention order; columns: weeks; each cell the sessions done (green: as planned,
    amber: at least half, orange: less, red: none, grey: before the athlete's first recording)."""
    cell_w = 30
    head = 34
    width = _LABEL_W + cell_w * len(report.weeks) + 8
    height = head + _ROW_H * len(report.athletes) + 4
    body = [
        '<text x="4" y="12" font-size="11" font-weight="bold">'
        "Training sessions per week (done / planned)</text>"
    ]
    for j, w in enumerate(report.weeks):
        x = _LABEL_W + j * cell_w + cell_w / 2
        body.append(
            f'<text x="{x:.0f}" y="{head - 6}" font-size="9" text-anchor="middle">{escape(w[5:])}</text>'
        )
    for i, a in enumerate(report.athletes):
        y = head + i * _ROW_H
        body.append(f'<text x="4" y="{y + 10}" font-size="9">{escape(a.athlete)}</text>')
        for j, done in enumerate(a.weekly_sessions):
            x = _LABEL_W + j * cell_w
            planned = a.sessions_planned
            tip = f"{a.athlete} {report.weeks[j]}: " + (
                f"{done} of {planned or '2-3'} sessions" if done is not None else "before the first recording"
            )
            body.append(
                f'<rect x="{x + 1}" y="{y + 1}" width="{cell_w - 2}" height="{_ROW_H - 2}" '
                f'fill="{_cell_colour(done, planned)}"><title>{escape(tip)}</title></rect>'
                f'<text x="{x + cell_w / 2:.0f}" y="{y + 10}" font-size="9" fill="#fff" '
                f'text-anchor="middle">{"" if done is None else done}</text>'
            )
    return _svg(width, height, body, "training sessions per athlete and week, done against planned")


def tempo_scatter(report: CohortReport, *, size: int = 300) -> str:
    """Median concentric (x) against eccentric (y) seconds per athlete; the shaded band is rushed (under the
    controlled minimum on either phase)."""
    pts = [
        (a.athlete, a.tempo.concentric_s, a.tempo.eccentric_s)
        for a in report.athletes
        if a.tempo.concentric_s is not None and a.tempo.eccentric_s is not None
    ]
    top = max([3.0, *(max(c, e) * 1.1 for _, c, e in pts)])
    pad = 36

    def sx(v: float) -> float:
        return pad + v / top * (size - pad - 8)

    def sy(v: float) -> float:
        return size - pad - v / top * (size - pad - 20)

    lim = MIN_CONTROLLED_PHASE_S
    body = [
        '<text x="4" y="12" font-size="11" font-weight="bold">Tempo: median lifting vs lowering time</text>',
        _rect(sx(0), sy(top), sx(lim) - sx(0), sy(0) - sy(top), "#fdecea"),
        _rect(sx(0), sy(lim), sx(top) - sx(0), sy(0) - sy(lim), "#fdecea"),
        _line(sx(0), sy(0), sx(top), sy(0)),
        _line(sx(0), sy(0), sx(0), sy(top)),
        f'<text x="{size / 2:.0f}" y="{size - 6}" font-size="10" text-anchor="middle">'
        "concentric (lifting), s</text>",
        f'<text x="10" y="{size / 2:.0f}" font-size="10" text-anchor="middle" '
        f'transform="rotate(-90 10 {size / 2:.0f})">eccentric (lowering), s</text>',
    ]
    for k in range(int(top) + 1):
        body.append(
            f'<text x="{sx(k):.1f}" y="{sy(0) + 12:.1f}" font-size="9" text-anchor="middle">{k}</text>'
        )
        body.append(
            f'<text x="{sx(0) - 4:.1f}" y="{sy(k) + 3:.1f}" font-size="9" text-anchor="end">{k}</text>'
        )
    for athlete, c, e in pts:
        rushed = c < lim or e < lim
        body.append(
            f'<circle cx="{sx(c):.1f}" cy="{sy(e):.1f}" r="3.5" fill="{"#c62828" if rushed else "#1b4965"}" '
            f'fill-opacity="0.75"><title>{escape(athlete)}: {c:.1f} s up, {e:.1f} s down</title></circle>'
        )
    return _svg(size, size, body, "median concentric against eccentric time per athlete, seconds")


def balance_bars(report: CohortReport, *, width: int = 460) -> str:
    """One bar per athlete and exercise trained on both sides: ``(left - right) / max`` of volume load,
    bars to the left when the left side did more; the band of +-:data:`ASYMMETRY_ADVICE_FRACTION` is
    shaded. Empty when nobody trained both sides this week."""
    rows = [
        (a.athlete, exercise_name(b.exercise), b.volume_asymmetry)
        for a in report.athletes
        for b in a.balance
        if b.volume_asymmetry is not None
    ]
    if not rows:
        return ""
    label_w = 220
    head = 30
    half = (width - label_w - 10) / 2
    mid = label_w + half
    height = head + _ROW_H * len(rows) + 16
    band = ASYMMETRY_ADVICE_FRACTION * half
    body = [
        '<text x="4" y="12" font-size="11" font-weight="bold">'
        "Left/right volume difference (share of the larger side)</text>",
        f'<rect x="{mid - band:.1f}" y="{head - 4}" width="{2 * band:.1f}" height="{_ROW_H * len(rows) + 4}" '
        'fill="#eef3f7"/>',
        _line(mid, head - 4, mid, head + _ROW_H * len(rows)),
        f'<text x="{label_w + 2}" y="{head - 8}" font-size="9">left did more</text>',
        f'<text x="{width - 10}" y="{head - 8}" font-size="9" text-anchor="end">right did more</text>',
        f'<text x="{mid:.1f}" y="{height - 3}" font-size="9" text-anchor="middle">shaded: within '
        f"{ASYMMETRY_ADVICE_FRACTION:.0%}</text>",
    ]
    for i, (athlete, exercise, frac) in enumerate(rows):
        y = head + i * _ROW_H
        w = abs(frac) * half
        x = mid - w if frac >= 0 else mid
        colour = "#c62828" if abs(frac) > ASYMMETRY_ADVICE_FRACTION else "#1b4965"
        body.append(f'<text x="4" y="{y + 10}" font-size="9">{escape(athlete)} {escape(exercise)}</text>')
        body.append(
            f'<rect x="{x:.1f}" y="{y + 2}" width="{max(w, 1):.1f}" height="{_ROW_H - 4}" fill="{colour}">'
            f"<title>{escape(athlete)} {escape(exercise)}: {frac:+.0%}</title></rect>"
        )
    return _svg(width, height, body, "left against right volume load per athlete and exercise")
