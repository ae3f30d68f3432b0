"""Charts of a weekly report as PNG bytes (matplotlib, no GUI backend, no global pyplot state).

Three charts, each labelled with units so it reads on its own in an email:

- ``volume``: weekly volume load per exercise over the report's history (reps x load, the user's unit);
- ``tempo``: median concentric / top-hold / eccentric seconds of every set this week (stacked bars);
- ``rom``: weekly median range of motion per exercise (degrees).
"""

from __future__ import annotations

import io
from collections import defaultdict

from matplotlib.figure import Figure

from flows.report.model import WeeklyReport

#: Chart names in display order, with their alt text.
CHARTS: dict[str, str] = {
    "volume": "Weekly volume load per exercise",
    "tempo": "Tempo per set this week (median phase durations, s)",
    "rom": "Range of motion trend (weekly median, degrees)",
}
_PHASE_COLOURS = {"concentric": "#d95f02", "top hold": "#7570b3", "eccentric": "#1b9e77"}
_DPI = 110


def _png(fig: Figure) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=_DPI, bbox_inches="tight", facecolor="white")
    return buf.getvalue()


def exercise_label(exercise: str) -> str:
    """An exercise id as words: ``side_lying_leg_raise`` -> ``side lying leg raise``."""
    return exercise.replace("_", " ")


def _empty(fig: Figure, title: str) -> None:
    ax = fig.add_subplot()
    ax.set_axis_off()
    ax.text(0.5, 0.5, "no data", ha="center", va="center", fontsize=14, color="#777")
    ax.set_title(title)


def volume_chart(report: WeeklyReport) -> bytes:
    """Grouped bars: weeks on x, one bar per exercise, volume load on y (unit in the legend)."""
    fig = Figure(figsize=(7.5, 3.4))
    title = "Weekly volume load per exercise"
    if not report.history:
        _empty(fig, title)
        return _png(fig)
    weeks = sorted({p.week for p in report.history})
    exercises = sorted({p.exercise for p in report.history})
    units: dict[str, str] = {}
    values: dict[str, dict[str, float]] = defaultdict(dict)
    for p in report.history:
        values[p.exercise][p.week] = p.volume_load
        if p.load_unit:
            units[p.exercise] = p.load_unit
    ax = fig.add_subplot()
    width = 0.8 / max(1, len(exercises))
    for i, ex in enumerate(exercises):
        xs = [k + (i - (len(exercises) - 1) / 2) * width for k in range(len(weeks))]
        ys = [values[ex].get(w, 0.0) for w in weeks]
        ax.bar(xs, ys, width=width, label=f"{exercise_label(ex)} (reps x {units.get(ex, 'load')})")
    ax.set_xticks(range(len(weeks)), [w.split("-")[1] for w in weeks])
    ax.set_xlabel("ISO week")
    ax.set_ylabel("volume load (reps x load)")
    ax.set_title(title)
    ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.2), ncols=2, frameon=False)
    ax.grid(axis="y", alpha=0.3)
    return _png(fig)


def tempo_chart(report: WeeklyReport) -> bytes:
    """Stacked horizontal bars, one per set this week: concentric, top hold, eccentric (s)."""
    rows = [
        (
            f"{exercise_label(e.exercise)}{' ' + e.side[0].upper() if e.side else ''} "
            f"{d.session_started_at:%a} #{d.set_index}",
            d,
        )
        for e in report.exercises
        for d in e.set_details
    ]
    fig = Figure(figsize=(7.5, max(2.4, 0.22 * len(rows) + 1.2)))
    title = "Tempo per set this week (median of the set's reps)"
    if not rows:
        _empty(fig, title)
        return _png(fig)
    ax = fig.add_subplot()
    ys = list(range(len(rows)))[::-1]
    left = [0.0] * len(rows)
    for phase, attr in (
        ("concentric", "concentric_s"),
        ("top hold", "top_hold_s"),
        ("eccentric", "eccentric_s"),
    ):
        widths = [float(getattr(d, attr) or 0.0) for _, d in rows]
        ax.barh(ys, widths, left=left, color=_PHASE_COLOURS[phase], label=phase, height=0.75)
        left = [a + b for a, b in zip(left, widths, strict=True)]
    ax.set_yticks(ys, [label for label, _ in rows], fontsize=6)
    ax.set_xlabel("seconds per rep")
    ax.set_title(title, pad=18)
    ax.legend(fontsize=7, ncols=3, loc="lower center", bbox_to_anchor=(0.5, 1.0), frameon=False)
    ax.grid(axis="x", alpha=0.3)
    return _png(fig)


def rom_chart(report: WeeklyReport) -> bytes:
    """Lines: weekly median ROM (degrees) per exercise over the report's history."""
    fig = Figure(figsize=(7.5, 3.2))
    title = "Range of motion trend (weekly median)"
    points = [p for p in report.history if p.rom_deg is not None]
    if not points:
        _empty(fig, title)
        return _png(fig)
    weeks = sorted({p.week for p in report.history})
    ax = fig.add_subplot()
    for ex in sorted({p.exercise for p in points}):
        pts = sorted((weeks.index(p.week), float(p.rom_deg or 0.0)) for p in points if p.exercise == ex)
        ax.plot([x for x, _ in pts], [y for _, y in pts], marker="o", label=exercise_label(ex))
    ax.set_xticks(range(len(weeks)), [w.split("-")[1] for w in weeks])
    ax.set_xlabel("ISO week")
    ax.set_ylabel("ROM (degrees)")
    ax.set_title(title)
    ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.2), ncols=3, frameon=False)
    ax.grid(alpha=0.3)
    return _png(fig)


def render_charts(report: WeeklyReport) -> dict[str, bytes]:
    """All charts as ``{name: PNG bytes}`` in :data:`CHARTS` order."""
    return {"volume": volume_chart(report), "tempo": tempo_chart(report), "rom": rom_chart(report)}
