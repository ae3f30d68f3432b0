"""Step 5: rep detection and phase segmentation on one window's rotation angle.

A rep is an excursion of the rotation angle away from the rest position and back. Candidates are peaks of
the polarity-corrected angle with a prominence of at least ``min_rom_deg`` (prominence is measured against
the neighbouring valleys, so slow drift does not matter), then again with at least
``min_relative_prominence`` of the median prominence (wobbles during holds are not reps).
Phases follow the movement-onset convention of biomechanics (see ../shared/reference/training.md):
each phase starts and ends where the angular speed crosses ``phase_speed_fraction`` (5 %) of that phase's
peak speed; crossings are interpolated between samples.

- concentric: from ``start`` (speed rises through 5 % of the concentric peak) to ``top_start`` (falls back);
- top hold: ``top_start`` to ``top_end`` (eccentric speed rises through 5 % of the eccentric peak);
- eccentric: ``top_end`` to ``end``;
- bottom pause: ``end`` to the next rep's ``start``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy import signal

from processing.filters import FloatArray, median_small
from processing.params import AnalysisParams


@dataclass(frozen=True, slots=True, kw_only=True)
class RepCandidate:
    """One rep in window-local sample units (fractional indices) with its measurements.

    Attributes:
        start, top_start, top_end, end: phase boundaries in samples from the window start.
        rom_deg: angle excursion from the start position to the top, degrees.
        return_deg: angle excursion from the top back to the end position, degrees.
        peak_concentric_dps, peak_eccentric_dps: phase peak angular speeds, deg/s (both positive).
    """

    start: float
    top_start: float
    top_end: float
    end: float
    rom_deg: float
    return_deg: float
    peak_concentric_dps: float
    peak_eccentric_dps: float


def _peaks(
    x: FloatArray, fs_hz: float, min_prominence: float, relative: float = 0.25
) -> npt.NDArray[np.intp]:
    """Peaks of ``x`` with a prominence of at least ``min_prominence`` and, when there are three or more,
    at least ``relative`` times their median prominence (wobbles during holds and pauses are not reps)."""
    dist = max(1, round(0.4 * fs_hz))
    peaks, props = signal.find_peaks(x, prominence=min_prominence, distance=dist)
    if peaks.size >= 3:
        prom = max(min_prominence, relative * median_small(props["prominences"]))
        peaks, _ = signal.find_peaks(x, prominence=prom, distance=dist)
    return np.asarray(peaks, dtype=np.intp)


def choose_polarity(
    angle_deg: FloatArray, fs_hz: float, min_rom_deg: float = 5.0, edge_s: float = 1.0
) -> int:
    """+1 or -1 so that reps are upward excursions from the rest position.

    Two cues, both mounting invariant:
    1. the rest (bottom) position is anatomically constrained and repeats from rep to rep, while the top
       varies with effort, fatigue and partial reps: the extremes with the smaller spread (median absolute
       deviation) are the bottoms;
    2. a set starts and ends at rest: the window's edges sit at the low end.
    Cue 1 decides when the spreads differ clearly (ratio above 1.5), else cue 2.
    """
    return _polarity_and_peaks(angle_deg, fs_hz, min_rom_deg, edge_s)[0]


def _polarity_and_peaks(
    angle_deg: FloatArray, fs_hz: float, min_rom_deg: float, edge_s: float = 1.0
) -> tuple[int, npt.NDArray[np.intp] | None]:
    """:func:`choose_polarity` and, when it found them, the peaks of the polarity-corrected angle
    (``_peaks(s * angle_deg, fs_hz, 0.8 * min_rom_deg)``): :func:`detect_reps` need not find them again."""
    n = angle_deg.size
    lo, hi = np.percentile(angle_deg, [5.0, 95.0])
    if hi - lo < 1e-9:
        return 1, None
    maxima = _peaks(angle_deg, fs_hz, 0.8 * min_rom_deg)
    minima = _peaks(-angle_deg, fs_hz, 0.8 * min_rom_deg)
    if maxima.size >= 3 and minima.size >= 3:
        # first differences: insensitive to slow drift of the angle (gyro-only integration)
        d_top = np.diff(angle_deg[maxima])
        d_bot = np.diff(angle_deg[minima])
        spread_max = median_small(np.abs(d_top)) + 0.2
        spread_min = median_small(np.abs(d_bot)) + 0.2
        if spread_max > 1.5 * spread_min:
            return 1, maxima
        if spread_min > 1.5 * spread_max:
            return -1, minima
    k = max(1, min(n // 4, round(edge_s * fs_hz)))
    edge = 0.5 * (median_small(angle_deg[:k]) + median_small(angle_deg[-k:]))
    return (1, maxima) if (edge - lo) / (hi - lo) <= 0.5 else (-1, minima)


def _last_below(v: FloatArray, lo: int, hi: int, thr: float) -> float | None:
    """Fractional index of the last upward crossing of ``thr`` by ``v`` in ``[lo, hi]`` (v[hi] >= thr)."""
    below = v[lo : hi + 1] < thr
    last = below.size - 1 - int(below[::-1].argmax()) if below.size else 0
    if below.size == 0 or not below[last]:
        return None
    j = lo + last
    if j + 1 > hi:
        return float(j)
    a, b = v[j], v[j + 1]
    return j + float((thr - a) / (b - a)) if b != a else float(j)


def _first_below(v: FloatArray, lo: int, hi: int, thr: float) -> float | None:
    """Fractional index of the first downward crossing of ``thr`` by ``v`` in ``[lo, hi]`` (v[lo] >= thr)."""
    below = v[lo : hi + 1] < thr
    first = int(below.argmax()) if below.size else 0
    if below.size == 0 or not below[first]:
        return None
    j = lo + first
    if j == lo:
        return float(j)
    a, b = v[j - 1], v[j]
    return j - 1 + float((a - thr) / (a - b)) if a != b else float(j)


def _interp(x: FloatArray, i: float) -> float:
    i = min(max(i, 0.0), x.size - 1.0)
    j = int(np.floor(i))
    if j >= x.size - 1:
        return float(x[-1])
    f = i - j
    return float(x[j] * (1 - f) + x[j + 1] * f)


def detect_reps(
    angle_deg: FloatArray,
    speed_dps: FloatArray,
    fs_hz: float,
    params: AnalysisParams | None = None,
    *,
    polarity: int | None = None,
) -> tuple[list[RepCandidate], dict[str, Any]]:
    """Find reps and their phase boundaries in one window.

    Args:
        angle_deg: (m,) rotation angle in degrees (offset arbitrary).
        speed_dps: (m,) signed angular speed about the same axis in deg/s (about d angle / dt).
        fs_hz: sample rate of both arrays.
        polarity: +1/-1 to force the direction of a rep; None chooses it with :func:`choose_polarity`.

    Returns the reps (before set-level acceptance) and a quality record with keys ``polarity`` (+1/-1),
    ``candidates`` (count of angle peaks), ``rejected_shape`` (count of peaks without a clear rise and
    return), ``rejected_duration`` (count outside ``[min_rep_duration_s, max_rep_duration_s]``).
    """
    p = params or AnalysisParams()
    found = None
    if polarity is not None:
        s = polarity
    else:
        s, found = _polarity_and_peaks(angle_deg, fs_hz, p.min_rom_deg)
    x = s * angle_deg
    v = s * speed_dps
    n = x.size
    if found is not None and p.min_relative_prominence == 0.25:
        # the polarity choice already found these peaks (same signal, prominence and default relative)
        peaks = found
    else:
        peaks = _peaks(x, fs_hz, p.min_rom_deg * 0.8, p.min_relative_prominence)
    reps: list[RepCandidate] = []
    rej_shape = rej_dur = 0
    frac = p.phase_speed_fraction
    bounds = [0, *peaks.tolist(), n - 1]
    for k, pk in enumerate(peaks.tolist()):
        left_pk, right_pk = bounds[k], bounds[k + 2]
        vl = left_pk + int(np.argmin(x[left_pk : pk + 1]))
        vr = pk + int(np.argmin(x[pk : right_pk + 1]))
        if pk - vl < 2 or vr - pk < 2:
            rej_shape += 1
            continue
        ic = vl + int(np.argmax(v[vl : pk + 1]))
        ie = pk + int(np.argmin(v[pk : vr + 1]))
        vc, ve = float(v[ic]), float(-v[ie])
        if vc <= 0 or ve <= 0:
            rej_shape += 1
            continue
        start = _last_below(v, vl, ic, frac * vc)
        top_start = _first_below(v, ic, ie, frac * vc)
        top_end = _last_below(-v, max(ic, int(top_start or ic)), ie, frac * ve)
        end = _first_below(-v, ie, vr, frac * ve)
        start = float(vl) if start is None else start
        end = float(vr) if end is None else end
        if top_start is None or top_end is None:
            rej_shape += 1
            continue
        top_end = max(top_end, top_start)
        x_top = float(np.max(x[int(np.floor(top_start)) : int(np.ceil(top_end)) + 1]))
        rom = x_top - _interp(x, start)
        ret = x_top - _interp(x, end)
        dur = (end - start) / fs_hz
        if not p.min_rep_duration_s <= dur <= p.max_rep_duration_s:
            rej_dur += 1
            continue
        reps.append(
            RepCandidate(
                start=start,
                top_start=top_start,
                top_end=top_end,
                end=end,
                rom_deg=rom,
                return_deg=ret,
                peak_concentric_dps=vc,
                peak_eccentric_dps=ve,
            )
        )
    quality = {
        "polarity": int(s),
        "candidates": int(peaks.size),
        "rejected_shape": rej_shape,
        "rejected_duration": rej_dur,
    }
    return reps, quality
