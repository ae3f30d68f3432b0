"""Charts of a weekly report as PNG bytes (matplotlib, no GUI backend, no global pyplot state).

Three charts, each with one unit per axis and labelled so it reads on its own in an email:

- ``volume``: weekly volume load, one panel per load unit (band-level reps, kg reps, bodyweight reps),
  one bar per exercise and week;
- ``tempo``: the four phase medians of every set this week (eccentric, bottom pause, concentric, top hold,
  in the report's notation order, seconds), one panel per exercise and side, sets labelled by day and set
  number;
- ``rom``: weekly median range of motion per exercise (degrees), implausible sets left out.

Unrecognised sets are in none of them. Figures are :data:`WIDTH_IN` wide at :data:`DPI`, shown 712 px wide
in the report, so that a 9 pt label is about 12 px on screen.
"""

from __future__ import annotations

import io
from collections import defaultdict
from collections.abc import Sequence

from matplotlib.artist import Artist
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from flows.report.model import SetSummary, WeeklyHistoryPoint, WeeklyReport, local
from flows.report.names import TEMPO_ORDER, exercise_name, exercise_title, volume_unit

#: Chart names in display order, with their alt text.
CHARTS: dict[str, str] = {
    "volume": "Weekly volume load per exercise, one panel per load unit",
    "tempo": f"Tempo per set this week ({TEMPO_ORDER}, s)",
    "rom": "Range of motion trend (weekly median, degrees)",
}
#: The report shows charts 712 px wide: 7.12 in at 100 px per inch, drawn at 1.5x for sharpness.
WIDTH_IN = 7.12
DPI = 150
FONT_PT = 9
_PHASES = (
    ("eccentric", "eccentric_s", "#1b9e77"),
    ("pause", "bottom_pause_s", "#bdbdbd"),
    ("concentric", "concentric_s", "#d95f02"),
    ("hold", "top_hold_s", "#7570b3"),
)
_EXERCISE_COLOURS = {
    "clamshell": "#1f77b4",
    "side_lying_leg_raise": "#9467bd",
    "banded_abduction_standing": "#ff7f0e",
    "banded_abduction_seated": "#8c564b",
    "single_leg_glute_bridge": "#2ca02c",
}
_UNIT_ORDER = ("band_level", "kg", "bodyweight")


def _png(fig: Figure) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI, facecolor="white")
    return buf.getvalue()


def _colour(exercise: str) -> str:
    return _EXERCISE_COLOURS.get(exercise, "#555555")


def _empty(title: str) -> bytes:
    fig = Figure(figsize=(WIDTH_IN, 1.6), layout="constrained")
    ax = fig.add_subplot()
    ax.set_axis_off()
    ax.text(0.5, 0.5, "no data", ha="center", va="center", fontsize=12, color="#777")
    ax.set_title(title, fontsize=11)
    return _png(fig)


def week_labels(history: Sequence[WeeklyHistoryPoint]) -> tuple[list[str], list[str]]:
    """The weeks of the history (sorted) and their axis labels: ``W47``, ``W49 so far``."""
    weeks = sorted({p.week for p in history})
    running = {p.week for p in history if not p.complete}
    return weeks, [w.split("-")[1] + ("\nso far" if w in running else "") for w in weeks]


# ---------------------------------------------------------------------------------------------- volume


def _volume_panel(ax: Axes, unit: str, history: Sequence[WeeklyHistoryPoint], weeks: list[str]) -> None:
    values: dict[str, dict[str, float]] = defaultdict(dict)
    for p in history:
        for v in p.volumes:
            if v.load_unit == unit and v.volume_load is not None:
                values[p.exercise][p.week] = v.volume_load
    exercises = sorted(values)
    width = 0.8 / max(1, len(exercises))
    for i, ex in enumerate(exercises):
        xs = [k + (i - (len(exercises) - 1) / 2) * width for k in range(len(weeks))]
        ys = [values[ex].get(w, 0.0) for w in weeks]
        ax.bar(xs, ys, width=width, color=_colour(ex), label=exercise_name(ex))
    ax.set_ylabel(volume_unit(unit), fontsize=FONT_PT)
    ax.grid(axis="y", alpha=0.3)
    ax.tick_params(labelsize=FONT_PT)


def volume_chart(report: WeeklyReport) -> bytes:
    """Small multiples: one panel per load unit, weeks on x, one bar per exercise (never two units on one
    axis); a running week is labelled "so far"."""
    title = "Weekly volume load (reps x resistance), one panel per unit"
    units = [u for u in _UNIT_ORDER if any(v.load_unit == u for p in report.history for v in p.volumes)]
    if not units:
        return _empty(title)
    weeks, labels = week_labels(report.history)
    fig = Figure(figsize=(WIDTH_IN, 0.6 + 1.9 * len(units)), layout="constrained")
    axes = fig.subplots(len(units), 1, sharex=True, squeeze=False)[:, 0]
    handles: dict[str, Artist] = {}
    for ax, unit in zip(axes, units, strict=True):
        _volume_panel(ax, unit, report.history, weeks)
        for h, lab in zip(*ax.get_legend_handles_labels(), strict=True):
            handles.setdefault(lab, h)
    axes[-1].set_xticks(range(len(weeks)), labels)
    axes[-1].set_xlabel("ISO week", fontsize=FONT_PT)
    fig.suptitle(title, fontsize=11)
    fig.legend(
        list(handles.values()), list(handles), loc="outside lower center", ncols=3, fontsize=FONT_PT,
        frameon=False,
    )  # fmt: skip
    return _png(fig)


# ----------------------------------------------------------------------------------------------- tempo


def set_labels(sets: Sequence[SetSummary]) -> list[str]:
    """``Mon #4``: the session's weekday (and time when two sessions share a day) and the set number."""
    return [f"{s.session_label or format(local(s.session_started_at), '%a')} #{s.set_number}" for s in sets]


def _tempo_panel(ax: Axes, title: str, sets: Sequence[SetSummary]) -> None:
    ys = list(range(len(sets)))[::-1]
    left = [0.0] * len(sets)
    for name, attr, colour in _PHASES:
        widths = [float(getattr(d, attr) or 0.0) for d in sets]
        ax.barh(ys, widths, left=left, color=colour, label=name, height=0.72)
        left = [a + b for a, b in zip(left, widths, strict=True)]
    ax.set_yticks(ys, set_labels(sets), fontsize=FONT_PT)
    ax.set_title(title, fontsize=FONT_PT + 1, loc="left")
    ax.grid(axis="x", alpha=0.3)
    ax.tick_params(axis="x", labelsize=FONT_PT)


def tempo_chart(report: WeeklyReport) -> bytes:
    """Stacked horizontal bars, one per set this week, one panel per exercise and side: the set's median
    eccentric, bottom pause, concentric and top hold (s), in the report's tempo notation order."""
    title = f"Tempo per set this week: {TEMPO_ORDER} (median of the set's reps, s)"
    groups = [(exercise_title(e.exercise, e.side), e.set_details) for e in report.exercises if e.set_details]
    if not groups:
        return _empty(title)
    heights = [len(sets) + 1.2 for _, sets in groups]
    fig = Figure(figsize=(WIDTH_IN, 0.9 + 0.2 * sum(heights)), layout="constrained")
    axes = fig.subplots(len(groups), 1, sharex=True, squeeze=False, height_ratios=heights)[:, 0]
    for ax, (name, sets) in zip(axes, groups, strict=True):
        _tempo_panel(ax, name, sets)
    axes[-1].set_xlabel("seconds per rep", fontsize=FONT_PT)
    fig.suptitle(title, fontsize=11)
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncols=4, fontsize=FONT_PT, frameon=False)
    return _png(fig)


# ------------------------------------------------------------------------------------------------- ROM


def rom_chart(report: WeeklyReport) -> bytes:
    """Lines: weekly median ROM (degrees) per exercise over the report's history."""
    title = "Range of motion (weekly median, degrees)"
    points = [p for p in report.history if p.rom_deg is not None]
    if not points:
        return _empty(title)
    weeks, labels = week_labels(report.history)
    fig = Figure(figsize=(WIDTH_IN, 3.0), layout="constrained")
    ax = fig.add_subplot()
    for ex in sorted({p.exercise for p in points}):
        pts = sorted((weeks.index(p.week), float(p.rom_deg or 0.0)) for p in points if p.exercise == ex)
        ax.plot(
            [x for x, _ in pts], [y for _, y in pts], marker="o", color=_colour(ex), label=exercise_name(ex)
        )
    ax.set_xticks(range(len(weeks)), labels)
    ax.set_xlabel("ISO week", fontsize=FONT_PT)
    ax.set_ylabel("ROM (deg)", fontsize=FONT_PT)
    ax.tick_params(labelsize=FONT_PT)
    ax.set_title(title, fontsize=11)
    ax.grid(alpha=0.3)
    fig.legend(loc="outside lower center", ncols=3, fontsize=FONT_PT, frameon=False)
    return _png(fig)


def render_charts(report: WeeklyReport) -> dict[str, bytes]:
    """All charts as ``{name: PNG bytes}`` in :data:`CHARTS` order."""
    return {"volume": volume_chart(report), "tempo": tempo_chart(report), "rom": rom_chart(report)}
