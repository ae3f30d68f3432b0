"""Plot and table helpers that keep the analysis notebooks (``notebooks/*.ipynb``) short.

Every function draws on an ``Axes`` the caller made (``fig, ax = plt.subplots()`` in a notebook), so nothing
here touches global pyplot state, and every axis it labels carries its unit (s, g, deg/s, deg).
Tabular inputs are anything indexable by column name that returns array-likes: a pandas DataFrame, a
``dict`` of lists, or DuckDB's ``fetchnumpy()`` result. No Prefect here: notebooks import this module.

Besides plots there are two small pure helpers the notebooks need:

- :func:`thigh_tilt_deg`: a mounting-invariant thigh angle for display (tilt of gravity away from its
  median direction in the sensor frame).
- :func:`match_reps`: pairs detected reps with ground-truth reps to measure counting and phase-timing
  errors (notebook 03).
"""

from __future__ import annotations

import math
import textwrap
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt
from matplotlib import dates as mdates
from matplotlib.axes import Axes
from matplotlib.ticker import MaxNLocator, ScalarFormatter

from flows.report.names import exercise_name, exercise_title, volume_unit
from hipsync.records import Exercise, ExerciseSet, Recording, Rep, SessionAnalysis, Side
from processing.clean import clean_and_resample
from processing.evaluation import match_intervals
from processing.orientation import estimate_motion, rotation_angle

FloatArray = npt.NDArray[np.float64]

__all__ = [
    "EXERCISE_COLOURS",
    "PHASE_COLOURS",
    "Columns",
    "RepMatch",
    "analysis_from_json",
    "exercise_name",
    "label_spans",
    "load_units",
    "match_reps",
    "plot_angle_with_sets",
    "plot_count_errors",
    "plot_left_right",
    "plot_raw",
    "plot_rep_phases",
    "plot_set_angle",
    "plot_timing_errors",
    "plot_trend",
    "rep_table",
    "reps_from_json",
    "set_angle_deg",
    "thigh_tilt_deg",
    "volume_unit",
]

PHASE_COLOURS: dict[str, str] = {
    "concentric": "#d95f02",
    "top_hold": "#7570b3",
    "eccentric": "#1b9e77",
}
_AXIS_COLOURS = ("#1f77b4", "#ff7f0e", "#2ca02c")
_SIDE_COLOURS = {"left": "#4c72b0", "right": "#dd8452"}
#: One colour per exercise, as in the report's charts.
EXERCISE_COLOURS: dict[str, str] = {
    "clamshell": "#1f77b4",
    "side_lying_leg_raise": "#9467bd",
    "banded_abduction_standing": "#ff7f0e",
    "banded_abduction_seated": "#8c564b",
    "single_leg_glute_bridge": "#2ca02c",
}
_SET_COLOUR = "#bbbbbb"
_REP_COLOURS = ("#9ecae1", "#fdd0a2")


class Columns(Protocol):
    """Anything with ``table["column"]`` returning an array-like (DataFrame, dict of arrays)."""

    def __getitem__(self, key: str, /) -> Any: ...


def _col(table: Columns, name: str) -> npt.NDArray[Any]:
    return np.asarray(table[name])


def _label(value: object) -> str:
    return "?" if value is None or (isinstance(value, float) and math.isnan(value)) else str(value)


def _group_label(column: str, value: object) -> str:
    """A legend word for one group value: exercises by the report's names, units in words."""
    text = _label(value)
    if column == "exercise":
        return exercise_name(text)
    if column == "load_unit":
        return volume_unit(text)
    return text.replace("_", " ")


# --- signals --------------------------------------------------------------------------------------------


def thigh_tilt_deg(recording: Recording, *, smooth_s: float = 0.25) -> FloatArray:
    """Angle (deg) between the low-passed acceleration and its median direction over the recording.

    With the thigh mostly still between sets, the median direction is the resting pose, so this reads as
    "how far the thigh is raised from rest", whatever way the sensor sits in its strap. It is blind to
    rotation about the vertical (seated abduction), where the analysis uses the gyroscope instead; it is
    meant for display, not for measuring ROM. Shape (n,), same time axis as ``recording.time_s``.
    """
    acc = recording.accel_g
    if recording.n_samples == 0:
        return np.zeros(0)
    if recording.fs_hz is not None:
        fs_hz = recording.fs_hz
    elif recording.n_samples > 1:
        fs_hz = 1.0 / float(np.median(np.diff(recording.time_s)))
    else:
        fs_hz = 1.0
    width = max(1, round(smooth_s * fs_hz))
    kernel = np.ones(width) / width
    # a moving average is enough here: it only has to suppress vibration for a readable trace
    smooth = np.column_stack([np.convolve(acc[:, i], kernel, mode="same") for i in range(3)])
    norm = np.linalg.norm(smooth, axis=1, keepdims=True)
    unit = smooth / np.maximum(norm, 1e-9)
    ref = np.median(unit, axis=0)
    ref = ref / max(float(np.linalg.norm(ref)), 1e-9)
    return np.asarray(np.degrees(np.arccos(np.clip(unit @ ref, -1.0, 1.0))), dtype=np.float64)


def set_angle_deg(
    recording: Recording, exercise_set: ExerciseSet, *, pad_s: float = 2.0
) -> tuple[FloatArray, FloatArray]:
    """The angle the analysis measures reps on: rotation about the set's principal axis (deg).

    Runs the analysis' own steps (``processing.clean``, ``processing.orientation``) on the set's span plus
    ``pad_s`` on each side. Returns ``(time_s, angle_deg)`` on the analysis' uniform grid, oriented so reps
    go up, with 0 deg at the median rep start. Unlike :func:`thigh_tilt_deg` it also sees rotations about
    the vertical (seated abduction).
    """

    clean, _ = clean_and_resample(recording)
    motion, _ = estimate_motion(clean)
    i0 = int(np.searchsorted(clean.time_s, exercise_set.start_s - pad_s))
    i1 = int(np.searchsorted(clean.time_s, exercise_set.end_s + pad_s))
    if i1 - i0 < 3:
        return clean.time_s[i0:i1], np.zeros(max(i1 - i0, 0))
    trace = rotation_angle(motion, i0, i1, clean.fs_hz)
    t = clean.time_s[i0:i1]
    angle = trace.angle_deg
    if exercise_set.reps:
        starts = np.interp([r.start_s for r in exercise_set.reps], t, angle)
        tops = np.interp([(r.top_start_s + r.top_end_s) / 2 for r in exercise_set.reps], t, angle)
        # the rotation axis' sign is arbitrary: flip so that lifting is positive
        if np.median(tops) < np.median(starts):
            angle, starts = -angle, -starts
        angle = angle - float(np.median(starts))
    return t, np.asarray(angle, dtype=np.float64)


def plot_raw(recording: Recording, ax_acc: Axes, ax_gyro: Axes | None = None) -> None:
    """Raw acceleration (g) and, if present, angular rate (deg/s) per sensor axis against time (s)."""
    for i, axis in enumerate("xyz"):
        ax_acc.plot(recording.time_s, recording.accel_g[:, i], lw=0.7, color=_AXIS_COLOURS[i], label=axis)
    ax_acc.set_ylabel("acceleration (g)")
    ax_acc.legend(loc="upper right", ncol=3, fontsize="small")
    if ax_gyro is None:
        ax_acc.set_xlabel("time (s)")
        return
    if recording.gyro_dps is None:
        ax_gyro.text(
            0.5, 0.5, "no gyroscope on this sensor", ha="center", va="center", transform=ax_gyro.transAxes
        )
    else:
        for i, axis in enumerate("xyz"):
            ax_gyro.plot(
                recording.time_s, recording.gyro_dps[:, i], lw=0.7, color=_AXIS_COLOURS[i], label=axis
            )
        ax_gyro.legend(loc="upper right", ncol=3, fontsize="small")
    ax_gyro.set_ylabel("angular rate (deg/s)")
    ax_gyro.set_xlabel("time (s)")


def plot_angle_with_sets(
    time_s: FloatArray, angle_deg: FloatArray, analysis: SessionAnalysis, ax: Axes, *, ylabel: str = ""
) -> None:
    """The angle trace with each set shaded grey and its reps in alternating colours (faint: partial).

    Each set is numbered at the top of the plot (the set number ``hipsync log`` takes; numbers that would
    overlap go on a row below) and marked at the bottom with its exercise's colour, which the legend names
    (the report's names).
    """
    ax.plot(time_s, angle_deg, color="black", lw=0.8)
    exercises = list(dict.fromkeys(str(s.exercise) for s in analysis.sets))
    for s in analysis.sets:
        ax.axvspan(s.start_s, s.end_s, color=_SET_COLOUR, alpha=0.35, lw=0)
        for j, r in enumerate(s.reps):
            ax.axvspan(
                r.start_s, r.end_s, color=_REP_COLOURS[j % 2], alpha=0.6 if not r.partial else 0.25, lw=0
            )
        colour = EXERCISE_COLOURS.get(str(s.exercise), "#555555")
        ax.axvspan(s.start_s, s.end_s, ymin=0.0, ymax=0.04, color=colour, lw=0)
    for e in exercises:
        ax.axvspan(0, 0, ymax=0.0, color=EXERCISE_COLOURS.get(e, "#555555"), lw=0, label=exercise_name(e))
    ax.set_xlabel("time (s)")
    ax.set_ylabel(ylabel or "thigh angle from rest (deg)")
    xs = [(s.start_s + s.end_s) / 2 for s in analysis.sets]
    _headroom(ax, label_spans(ax, xs, range(1, len(analysis.sets) + 1)))
    if exercises:
        # below the axes: inside, it would hide part of the trace
        ax.legend(
            loc="upper center", bbox_to_anchor=(0.5, -0.2), fontsize="small", ncols=min(5, len(exercises)),
            frameon=False,
        )  # fmt: skip


#: Height of one row of set numbers (points) and the gap between two numbers on a row (pixels).
_LABEL_ROW_PT = 11.0
_LABEL_GAP_PX = 3.0


def label_spans(ax: Axes, xs: Sequence[float], labels: Iterable[object]) -> int:
    """Write ``labels`` at the top of ``ax`` over the x positions ``xs`` (data units), a label that would
    overlap its left neighbour going on the next row down; returns the number of rows used."""
    ax.get_xlim()  # settles pending autoscaling, so that the labels' pixel positions below are final
    rows_right: list[float] = []
    texts = [
        ax.annotate(
            str(label), xy=(x, 1.0), xycoords=("data", "axes fraction"), xytext=(0, -2),
            textcoords="offset points", ha="center", va="top", fontsize="small",
        )
        for x, label in zip(xs, labels, strict=False)
    ]  # fmt: skip
    for text in sorted(texts, key=lambda t: float(t.xy[0])):
        box = text.get_window_extent()  # the figure makes a renderer for it, whatever its canvas
        row = next(
            (i for i, right in enumerate(rows_right) if box.x0 > right + _LABEL_GAP_PX), len(rows_right)
        )
        if row == len(rows_right):
            rows_right.append(box.x1)
        rows_right[row] = box.x1
        text.xyann = (0.0, -2.0 - row * _LABEL_ROW_PT)
    return len(rows_right)


def _headroom(ax: Axes, rows: int) -> None:
    """Raise the top of the y axis so ``rows`` rows of labels sit above the data."""
    lo, hi = ax.get_ylim()
    height_pt = ax.get_window_extent().height * 72.0 / ax.figure.dpi
    band = rows * _LABEL_ROW_PT + 6.0
    if rows and height_pt > band:
        ax.set_ylim(lo, hi + (hi - lo) * band / (height_pt - band))


def plot_set_angle(
    time_s: FloatArray,
    angle_deg: FloatArray,
    exercise_set: ExerciseSet,
    ax: Axes,
    *,
    number: int | None = None,
) -> None:
    """One set's angle (from :func:`set_angle_deg`) with its reps shaded and the phase boundaries marked;
    ``number`` is the set number shown in the title (as ``hipsync log`` takes it)."""
    ax.plot(time_s, angle_deg, color="black", lw=0.9)
    for j, r in enumerate(exercise_set.reps):
        ax.axvspan(r.start_s, r.end_s, color=_REP_COLOURS[j % 2], alpha=0.6 if not r.partial else 0.25, lw=0)
    roms = [r.rom_deg for r in exercise_set.reps if not r.partial]
    title = exercise_title(
        str(exercise_set.exercise), None if exercise_set.side is None else str(exercise_set.side)
    )
    median = f", median ROM {float(np.median(roms)):.0f} deg" if roms else ""
    prefix = "" if number is None else f"set {number}: "
    ax.set_title(f"{prefix}{title}\n{len(exercise_set.reps)} reps{median}", fontsize="medium")
    ax.set_xlabel("time (s)")
    ax.set_ylabel("angle (deg)")


def plot_rep_phases(
    time_s: FloatArray,
    angle_deg: FloatArray,
    rep: Rep,
    ax: Axes,
    *,
    pad_s: float = 1.0,
    ylabel: str = "",
) -> None:
    """One rep zoomed in: concentric, top hold and eccentric phases shaded, boundaries as dashed lines."""
    sel = (time_s >= rep.start_s - pad_s) & (time_s <= rep.end_s + pad_s)
    ax.plot(time_s[sel], angle_deg[sel], color="black", lw=1.2)
    spans = (
        ("concentric", rep.start_s, rep.top_start_s),
        ("top_hold", rep.top_start_s, rep.top_end_s),
        ("eccentric", rep.top_end_s, rep.end_s),
    )
    for name, a, b in spans:
        ax.axvspan(
            a, b, color=PHASE_COLOURS[name], alpha=0.3, lw=0, label=f"{name.replace('_', ' ')} {b - a:.2f} s"
        )
    for t in (rep.start_s, rep.top_start_s, rep.top_end_s, rep.end_s):
        ax.axvline(t, color="black", ls="--", lw=0.6)
    ax.set_xlabel("time (s)")
    ax.set_ylabel(ylabel or "thigh angle from rest (deg)")
    ax.legend(loc="upper right", fontsize="small")
    ax.set_title(f"one rep: ROM {rep.rom_deg:.1f} deg")


# --- tables ---------------------------------------------------------------------------------------------


def rep_table(analysis: SessionAnalysis) -> list[dict[str, Any]]:
    """One row per rep: set, rep, exercise, side, tempo phases (s), time under tension (s), ROM (deg)."""
    rows: list[dict[str, Any]] = []
    for k, s in enumerate(analysis.sets, start=1):
        for j, (r, ph) in enumerate(zip(s.reps, s.tempo(), strict=True), start=1):
            rows.append(
                {
                    "set": k,
                    "rep": j,
                    "exercise": str(s.exercise),
                    "side": None if s.side is None else str(s.side),
                    "concentric_s": round(ph.concentric_s, 2),
                    "top_hold_s": round(ph.top_hold_s, 2),
                    "eccentric_s": round(ph.eccentric_s, 2),
                    "bottom_pause_s": None if ph.bottom_pause_s is None else round(ph.bottom_pause_s, 2),
                    "tut_s": round(ph.time_under_tension_s, 2),
                    "rom_deg": round(r.rom_deg, 1),
                    "partial": r.partial,
                }
            )
    return rows


# --- weekly trends --------------------------------------------------------------------------------------


def plot_trend(
    table: Columns,
    y: str,
    ax: Axes,
    *,
    ylabel: str,
    x: str = "week_start",
    groups: Sequence[str] = ("exercise", "side"),
    marker: str = "o",
    steps: bool = False,
    integer: bool = False,
) -> None:
    """One line per group (default exercise x side) of column ``y`` against ``x`` (default the week's Monday).

    ``ylabel`` must carry the unit, e.g. ``"median concentric (s)"``. Rows with a missing ``y`` are skipped.
    ``steps`` draws a staircase (a load holds until it changes); ``integer`` keeps y ticks whole (counts).
    Weekly x axes are labelled with ISO weeks (``2026-W45``).
    """
    xs = _col(table, x)
    ys = np.asarray(_col(table, y), dtype=np.float64)
    keys = list(zip(*(_col(table, g) for g in groups), strict=True)) if groups else [()] * len(xs)
    n_lines = 0
    for key in sorted(set(keys), key=lambda k: tuple(_label(v) for v in k)):
        sel = np.array([k == key for k in keys], dtype=bool) & np.isfinite(ys)
        if not sel.any():
            continue
        n_lines += 1
        order = np.argsort(xs[sel])
        ax.plot(
            xs[sel][order],
            ys[sel][order],
            marker=marker,
            drawstyle="steps-post" if steps else "default",
            label=" ".join(_group_label(g, v) for g, v in zip(groups, key, strict=True)),
        )
    ax.set_ylabel(ylabel)
    if x == "week_start" and n_lines:
        ax.xaxis.set_major_locator(mdates.WeekdayLocator(byweekday=mdates.MO))  # type: ignore[no-untyped-call]
        ax.xaxis.set_major_formatter(mdates.DateFormatter("%G-W%V"))  # type: ignore[no-untyped-call]
        ax.set_xlabel("ISO week")
    else:
        ax.set_xlabel(x.replace("_", " "))
    if integer:
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    # offsets like "+7" on the axis hide the actual values of nearly constant series
    fmt = ax.yaxis.get_major_formatter()
    if isinstance(fmt, ScalarFormatter):
        fmt.set_useOffset(False)
    if n_lines:
        ax.legend(fontsize="small")
    else:
        ax.text(
            0.5, 0.5, f"no {y.replace('_', ' ')} values", ha="center", va="center", transform=ax.transAxes
        )
        ax.set_xticks([])
    ax.tick_params(axis="x", labelrotation=30)


def plot_left_right(table: Columns, y: str, ax: Axes, *, ylabel: str, by: str = "exercise") -> None:
    """Grouped bars: for each ``by`` value, the left and the right side's ``y`` next to each other.

    Only sides with data get bars: with one leg only, the plot says so instead of drawing an empty series.
    """
    cats = _col(table, by)
    sides = _col(table, "side").astype(str)
    ys = np.asarray(_col(table, y), dtype=np.float64)
    names = sorted({str(c) for c in cats})
    present = [side for side in ("left", "right") if ((sides == side) & np.isfinite(ys)).any()]
    width = 0.76 / max(1, len(present))
    for k, side in enumerate(present):
        vals = []
        for name in names:
            sel = (cats.astype(str) == name) & (sides == side) & np.isfinite(ys)
            vals.append(float(ys[sel].mean()) if sel.any() else np.nan)
        offset = (k - (len(present) - 1) / 2) * width
        ax.bar(np.arange(len(names)) + offset, vals, width, label=f"{side} leg", color=_SIDE_COLOURS[side])
    labels = [textwrap.fill(exercise_name(n), 14) for n in names]
    ax.set_xticks(np.arange(len(names)), labels, fontsize="small")
    ax.set_ylabel(ylabel)
    ax.margins(y=0.2)
    if len(present) == 1:
        other = "right" if present[0] == "left" else "left"
        ax.set_title(
            f"only the {present[0]} leg has data: nothing to compare with the {other}", fontsize="small"
        )
    if present:
        ax.legend(loc="upper center", ncol=2, fontsize="small")
    else:
        ax.text(
            0.5, 0.5, f"no {y.replace('_', ' ')} values", ha="center", va="center", transform=ax.transAxes
        )


def load_units(table: Columns, column: str = "load_unit") -> list[str]:
    """The load units in ``table`` (band levels, kg, bodyweight, in that order): one panel each, since band
    levels and kilograms do not share an axis."""
    present = {
        str(u) for u in _col(table, column) if u is not None and not (isinstance(u, float) and math.isnan(u))
    }
    return [u for u in ("band_level", "kg", "bodyweight") if u in present] + sorted(
        present - {"band_level", "kg", "bodyweight"}
    )


# --- algorithm check ------------------------------------------------------------------------------------


def analysis_from_json(doc: Mapping[str, Any], *, algorithm_version: str = "json") -> SessionAnalysis:
    """A :class:`SessionAnalysis` from an ``analyze --json``-shaped document (an analysis or the simulator's
    ground truth); keys it does not know (such as the simulator's ``load``) are ignored.
    """
    sets: list[ExerciseSet] = []
    for s in doc.get("sets", []):
        reps = tuple(
            Rep(
                start_s=float(r["start"]),
                top_start_s=float(r["top_start"]),
                top_end_s=float(r["top_end"]),
                end_s=float(r["end"]),
                rom_deg=float(r.get("rom_deg", math.nan)),
                partial=bool(r.get("partial", False)),
            )
            for r in s.get("reps", [])
        )
        side = s.get("side")
        sets.append(
            ExerciseSet(
                exercise=Exercise(s.get("exercise", "unknown")),
                side=None if side is None else Side(side),
                start_s=float(s.get("start", reps[0].start_s if reps else 0.0)),
                end_s=float(s.get("end", reps[-1].end_s if reps else 0.0)),
                reps=reps,
                velocity_loss=s.get("velocity_loss"),
            )
        )
    return SessionAnalysis(sets=tuple(sets), algorithm_version=algorithm_version)


def reps_from_json(doc: Mapping[str, Any]) -> list[Rep]:
    """The reps of an ``analyze --json``-shaped document (analysis or simulator ground truth), in order."""
    return _all_reps(analysis_from_json(doc))


def _all_reps(analysis_or_sets: SessionAnalysis | Iterable[ExerciseSet]) -> list[Rep]:
    sets = analysis_or_sets.sets if isinstance(analysis_or_sets, SessionAnalysis) else analysis_or_sets
    return [r for s in sets for r in s.reps]


@dataclass(frozen=True, slots=True, kw_only=True)
class RepMatch:
    """Detected reps paired with true reps by time overlap (:func:`match_reps`).

    ``pairs`` holds (true index, detected index); errors are detected minus true, in seconds, per
    boundary (``start``, ``top_start``, ``top_end``, ``end``) and per phase duration (``concentric``,
    ``top_hold``, ``eccentric``), shape (n_pairs,) each; ``rom_error_deg`` likewise in degrees.
    """

    n_true: int
    n_detected: int
    pairs: tuple[tuple[int, int], ...]
    boundary_error_s: dict[str, FloatArray]
    phase_error_s: dict[str, FloatArray]
    rom_error_deg: FloatArray

    @property
    def missed(self) -> int:
        return self.n_true - len(self.pairs)

    @property
    def extra(self) -> int:
        return self.n_detected - len(self.pairs)


def match_reps(
    truth: Sequence[Rep] | SessionAnalysis, detected: Sequence[Rep] | SessionAnalysis, *, min_iou: float = 0.3
) -> RepMatch:
    """Pair true and detected reps one-to-one, greedily by interval overlap (intersection over union of
    ``start``-``end``, at least ``min_iou``) with :func:`processing.evaluation.match_intervals`, the matcher
    :func:`processing.evaluation.score_session` uses for the summary numbers; this adds the per-boundary
    errors the notebooks plot.
    """
    t_reps = _all_reps(truth) if isinstance(truth, SessionAnalysis) else list(truth)
    d_reps = _all_reps(detected) if isinstance(detected, SessionAnalysis) else list(detected)
    matched = match_intervals(
        [(r.start_s, r.end_s) for r in t_reps], [(r.start_s, r.end_s) for r in d_reps], min_iou=min_iou
    )
    pairs = sorted(matched.items())

    def diffs(get: Any) -> FloatArray:
        return np.array([get(d_reps[j]) - get(t_reps[i]) for i, j in pairs], dtype=np.float64)

    boundary = {
        "start": diffs(lambda r: r.start_s),
        "top_start": diffs(lambda r: r.top_start_s),
        "top_end": diffs(lambda r: r.top_end_s),
        "end": diffs(lambda r: r.end_s),
    }
    phase = {
        "concentric": diffs(lambda r: r.top_start_s - r.start_s),
        "top_hold": diffs(lambda r: r.top_end_s - r.top_start_s),
        "eccentric": diffs(lambda r: r.end_s - r.top_end_s),
    }
    return RepMatch(
        n_true=len(t_reps),
        n_detected=len(d_reps),
        pairs=tuple(pairs),
        boundary_error_s=boundary,
        phase_error_s=phase,
        rom_error_deg=diffs(lambda r: r.rom_deg),
    )


def plot_count_errors(
    names: Sequence[str], true_counts: Sequence[int], detected_counts: Sequence[int], ax: Axes
) -> None:
    """True against detected rep counts per recording (bars), with the difference written above."""
    x = np.arange(len(names))
    ax.bar(x - 0.2, true_counts, 0.4, label="true", color="#999999")
    ax.bar(x + 0.2, detected_counts, 0.4, label="detected", color="#4c72b0")
    for xi, t, d in zip(x, true_counts, detected_counts, strict=True):
        ax.text(float(xi), max(t, d), f"{d - t:+d}", ha="center", va="bottom", fontsize="small")
    ax.set_xticks(x, list(names), rotation=30, ha="right", fontsize="small")
    ax.set_ylabel("reps (count)")
    ax.legend()


def plot_timing_errors(errors_s: Mapping[str, FloatArray], ax: Axes, *, title: str = "") -> None:
    """Box plot of timing errors (detected minus true, s) per boundary or phase; n shown per box."""
    names = [k for k, v in errors_s.items() if len(v)]
    if not names:
        ax.text(0.5, 0.5, "no matched reps", ha="center", va="center", transform=ax.transAxes)
        ax.set_ylabel("error (s)")
        return
    ax.boxplot([errors_s[k] for k in names], showfliers=True)
    ax.set_xticks(
        np.arange(1, len(names) + 1), [f"{k.replace('_', ' ')}\nn={len(errors_s[k])}" for k in names]
    )
    ax.axhline(0.0, color="black", lw=0.6)
    ax.set_ylabel("error, detected - true (s)")
    if title:
        ax.set_title(title)
