"""Step 5a-5c: rep candidates and their phase boundaries on one window's rotation angle.

A rep is an excursion of the rotation angle away from the rest position and back. Sub-steps:

- 5a :func:`find_excursions`: peaks of the polarity-corrected angle whose prominence is at least a noise
  floor (``min_prominence_deg``) **and** at least ``excursion_return_fraction`` (50 %) of their height
  above the lower of their two bases. Both are scale-free in the sense that matters: a peak counts when the
  angle comes back down between it and its neighbours by at least half its own excursion, whatever the
  size of the reps. A wobble during a top hold, or the second hump of a double-humped rep, does not come
  back down (it is part of the hold); a small rep after large ones does (it starts and ends at rest).
- 5b :func:`choose_polarity`: which way "up" is (rest is the bottom).
- 5c :func:`detect_reps`: the rep between two excursion peaks' valleys and its phases, following the
  movement-onset convention of biomechanics (see ../shared/reference/training.md): each phase starts and
  ends where the angular speed crosses ``phase_speed_fraction`` (5 %) of that phase's peak speed;
  crossings are interpolated between samples.

  - concentric: from ``start`` (speed rises through 5 % of the concentric peak) to ``top_start``;
  - top hold: ``top_start`` to ``top_end`` (eccentric speed rises through 5 % of the eccentric peak);
  - eccentric: ``top_end`` to ``end``;
  - bottom pause: ``end`` to the next rep's ``start``.

Whether the candidates form a set (enough, regular, not passive) is decided in :mod:`processing.sets`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy import ndimage, signal

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
        bounds: the samples of the valley before, the top, and the valley after (window-local).
    """

    start: float
    top_start: float
    top_end: float
    end: float
    rom_deg: float
    return_deg: float
    peak_concentric_dps: float
    peak_eccentric_dps: float
    bounds: tuple[int, int, int] = (-1, -1, -1)

    @property
    def duration(self) -> float:
        """Start to end, in samples."""
        return self.end - self.start


@dataclass(frozen=True, slots=True, kw_only=True)
class Excursions:
    """Peaks of a polarity-corrected angle (5a).

    Attributes:
        peaks: (k,) sample indices of the excursion tops.
        prominences_deg: (k,) their prominences (deg): how far the angle drops before a higher peak.
    """

    peaks: npt.NDArray[np.intp]
    prominences_deg: FloatArray


def _valleys(x: FloatArray, peaks: npt.NDArray[np.intp]) -> FloatArray:
    """(k + 1,) lowest value before the first peak, between consecutive peaks, and after the last one."""
    bounds = np.concatenate(([0], peaks, [x.size - 1]))
    return np.minimum.reduceat(x, bounds[:-1])[: bounds.size - 1] if x.size else np.zeros(0)


def _rest_levels(valleys: FloatArray, reach: int = 5, q: float = 20.0) -> FloatArray:
    """(k - 1,) the rest level near each inner valley (between two peaks): a low percentile ``q`` of the
    inner valleys up to ``reach`` positions away. Most valleys of a set are its rests; wobbles during holds
    add a few higher ones. The valleys before the first and after the last peak are left out (unless
    there are fewer than three inner ones): the window's edges often hold another posture."""
    inner = valleys[1:-1] if valleys.size >= 5 else valleys
    pad = np.pad(inner, reach, constant_values=np.nan)
    # nearest-rank percentile of each window's values (NaN padding sorts last; fewer values at the ends)
    win = np.sort(np.lib.stride_tricks.sliding_window_view(pad, 2 * reach + 1), axis=1)
    count = np.count_nonzero(~np.isnan(win), axis=1)
    rank = np.floor(q / 100.0 * (count - 1)).astype(np.intp)
    levels = win[np.arange(win.shape[0]), rank]
    return np.asarray(levels if valleys.size >= 5 else levels[1:-1], dtype=np.float64)


def find_excursions(
    x: FloatArray, fs_hz: float, min_prominence_deg: float, min_return_fraction: float = 0.5
) -> Excursions:
    """5a: peaks of ``x`` (deg) with a prominence of at least ``min_prominence_deg``, separated by valleys
    that come back down at least ``min_return_fraction`` of the way from the lower neighbouring peak to the
    rest level near them (:func:`_rest_levels`).

    Neighbouring peaks with a shallower valley between them are one excursion (wobbles during a hold, the
    two humps of one rep, a partial dip inside a hold): the highest of them stays. A small rep next to
    large ones stays on its own (it comes back to the same rest level), and a posture change before the
    set does not matter (it is one valley among many). Peaks closer than 0.4 s are not told apart (faster
    than any rep; a stride or a shake).
    """
    dist = max(1, round(0.4 * fs_hz))
    peaks, props = signal.find_peaks(x, prominence=min_prominence_deg, distance=dist)
    prom = np.asarray(props.get("prominences", np.zeros(0)), dtype=np.float64)
    if peaks.size >= 2:
        valleys = _valleys(x, peaks)
        rest = _rest_levels(valleys)
        xp = x[peaks]
        lower = np.minimum(xp[:-1], xp[1:])
        inner = valleys[1:-1]
        boundary = (lower - inner >= min_return_fraction * (lower - rest)) | (lower <= rest)
        # peaks joined by shallow valleys form one excursion; its highest peak stays
        seg = np.concatenate(([0], np.cumsum(boundary)))
        order = np.lexsort((-xp, seg))
        first = np.concatenate(([True], seg[order][1:] != seg[order][:-1]))
        keep = np.sort(order[first])
        peaks, prom = peaks[keep], prom[keep]
    return Excursions(peaks=np.asarray(peaks, dtype=np.intp), prominences_deg=prom)


def _quantile(values: FloatArray, q: float) -> float:
    """Nearest-rank quantile ``q`` (0-1) of a non-empty array (no interpolation: cheap on short arrays)."""
    v = np.sort(values)
    return float(v[min(v.size - 1, int(q * v.size))])


def _major(exc: Excursions, fraction: float = 0.4) -> npt.NDArray[np.intp]:
    """Peaks at least ``fraction`` of the upper-quartile prominence: the reps, not the fidgets between."""
    if exc.peaks.size < 4:
        return exc.peaks
    ref = _quantile(exc.prominences_deg, 0.75)
    return exc.peaks[exc.prominences_deg >= fraction * ref]


def choose_polarity(
    angle_deg: FloatArray, fs_hz: float, min_prominence_deg: float = 4.0, edge_s: float = 1.0
) -> int:
    """5b: +1 or -1 so that reps are upward excursions from the rest position.

    Three cues, all mounting invariant, in this order:
    1. a set starts and ends at rest: the first and the last still stretch (the angle within 10 % of the
       rep range for a second) in the band of the reps lie at the rest level (:func:`_rest_at_ends`);
    2. the rest (bottom) position is anatomically constrained and repeats from rep to rep, while the top
       varies with effort, fatigue, partial reps and tremor during holds: the major extremes whose levels
       change less from one to the next are the bottoms (decides when the spreads differ by 1.5 times);
    3. the window's edges sit at the low end.
    """
    return _polarity_and_excursions(angle_deg, fs_hz, min_prominence_deg, edge_s)[0]


def _spread(x: FloatArray, peaks: npt.NDArray[np.intp]) -> float | None:
    """Median absolute change of ``x`` from one peak to the next (deg; insensitive to slow drift)."""
    if peaks.size < 3:
        return None
    return median_small(np.abs(np.diff(x[peaks]))) + 0.2


def _end_votes(
    x: FloatArray, flat: npt.NDArray[np.bool_], levels: list[tuple[float, float]], rng: float
) -> int:
    """+1/-1 when the first and the last flat stretch inside the band of (top, bottom) ``levels`` (one pair
    for the first stretch, one for the last) both lie nearer the bottom / the top; 0 otherwise."""
    votes = []
    for k, (top, bottom) in zip((0, -1), levels, strict=True):
        ok = np.flatnonzero(flat & (x > bottom - 0.25 * rng) & (x < top + 0.25 * rng))
        if ok.size:
            i = int(ok[k])
            votes.append(1 if x[i] - bottom < top - x[i] else -1)
    return votes[0] if len(votes) == 2 and votes[0] == votes[1] else 0


def _rest_at_ends(
    x: FloatArray, fs_hz: float, tops: npt.NDArray[np.intp], bottoms: npt.NDArray[np.intp]
) -> int:
    """+1 when the first and the last still stretch within the reps' band sit nearer the level of the
    major bottoms than of the major tops, -1 when nearer the tops, 0 when they disagree or there is none.

    ``tops``/``bottoms``: indices of the major maxima and minima of ``x``. The levels are their medians
    (a fidget in another posture at the window's edge is one extreme among many), or, when that does not
    decide, the nearest extremes in time (a slowly drifting angle, gyro only, compares like with like).
    The band reaches a quarter range beyond the levels, so a different posture before or after the set
    (standing before lying down) does not count. "Still" is the angle staying within 10 % of the range
    for a second.
    """
    if tops.size == 0 or bottoms.size == 0:
        return 0
    top, bottom = median_small(x[tops]), median_small(x[bottoms])
    rng = top - bottom
    if rng <= 0:
        return 0
    w = max(3, round(fs_hz))
    flat = (ndimage.maximum_filter1d(x, w) - ndimage.minimum_filter1d(x, w)) < 0.2 * rng
    vote = _end_votes(x, flat, [(top, bottom), (top, bottom)], rng)
    if vote:
        return vote
    nearest = [(float(x[tops[k]]), float(x[bottoms[k]])) for k in (0, -1)]
    return _end_votes(x, flat, nearest, rng)


def _polarity_and_excursions(
    angle_deg: FloatArray,
    fs_hz: float,
    min_prominence_deg: float,
    edge_s: float = 1.0,
    return_fraction: float = 0.5,
) -> tuple[int, Excursions | None]:
    """:func:`choose_polarity` and the excursions of the polarity-corrected angle (reused by
    :func:`detect_reps`), or None when they were not needed."""
    n = angle_deg.size
    k5, k95 = int(0.05 * (n - 1)), int(0.95 * (n - 1))
    part = np.partition(angle_deg, (k5, k95))
    lo, hi = float(part[k5]), float(part[k95])
    if hi - lo < 1e-9:
        return 1, None
    up = find_excursions(angle_deg, fs_hz, min_prominence_deg, return_fraction)
    down = find_excursions(-angle_deg, fs_hz, min_prominence_deg, return_fraction)
    tops, bottoms = _major(up), _major(down)
    ends = _rest_at_ends(angle_deg, fs_hz, tops, bottoms)
    if ends:
        return ends, (up if ends > 0 else down)
    spread_top = _spread(angle_deg, tops)
    spread_bottom = _spread(-angle_deg, bottoms)
    if spread_top is not None and spread_bottom is not None:
        if spread_top > 1.5 * spread_bottom:
            return 1, up
        if spread_bottom > 1.5 * spread_top:
            return -1, down
    k = max(1, min(n // 4, round(edge_s * fs_hz)))
    edge = 0.5 * (median_small(angle_deg[:k]) + median_small(angle_deg[-k:]))
    return (1, up) if (edge - lo) / (hi - lo) <= 0.5 else (-1, down)


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


def _phase_peak(x: FloatArray, v: FloatArray, lo: int, hi: int, *, rising: bool) -> int:
    """Index of the peak speed of the rise (``rising``: ``lo`` is the valley, ``hi`` the top) or the
    return (``lo`` the top, ``hi`` the valley), searched only where the angle travels through the middle
    half of the range (from its last quarter to its first three quarters around the mid-level crossing
    nearest the valley's end): tremor during a hold can be faster than a slow, controlled movement, but it
    does not cross the range."""
    seg = x[lo : hi + 1] if rising else -x[lo : hi + 1]
    # now seg rises from seg[0] (its low end) to seg[-1] (its high end) in both cases
    low, high = float(seg[0]), float(seg[-1])
    quarter = 0.25 * (high - low)
    c = _last(seg < 0.5 * (low + high))
    i0 = _last(seg[: c + 1] <= low + quarter)
    i1 = c + _first(seg[c:] >= high - quarter, default=seg.size - 1 - c)
    speed = v[lo + i0 : lo + i1 + 1] if rising else -v[lo + i0 : lo + i1 + 1]
    return lo + i0 + int(np.argmax(speed))


def _last(mask: npt.NDArray[np.bool_]) -> int:
    """Index of the last True (0 when none)."""
    if mask.size == 0:
        return 0
    k = mask.size - 1 - int(mask[::-1].argmax())
    return k if mask[k] else 0


def _first(mask: npt.NDArray[np.bool_], default: int) -> int:
    """Index of the first True (``default`` when none)."""
    if mask.size == 0:
        return default
    k = int(mask.argmax())
    return k if mask[k] else default


def _phases(x: FloatArray, v: FloatArray, vl: int, pk: int, vr: int, frac: float) -> RepCandidate | None:
    """The rep whose top is ``pk`` between the valleys ``vl`` and ``vr``: phase boundaries where the speed
    ``v`` (deg/s, positive upwards) crosses ``frac`` of each phase's peak; None without a clear rise and
    return."""
    if pk - vl < 2 or vr - pk < 2:
        return None
    ic = _phase_peak(x, v, vl, pk, rising=True)
    ie = _phase_peak(x, v, pk, vr, rising=False)
    vc, ve = float(v[ic]), float(-v[ie])
    if vc <= 0 or ve <= 0:
        return None
    start = _last_below(v, vl, ic, frac * vc)
    top_start = _first_below(v, ic, ie, frac * vc)
    if top_start is None:
        return None
    top_end = _last_below(-v, max(ic, int(top_start)), ie, frac * ve)
    if top_end is None:
        return None
    start = float(vl) if start is None else start
    end = _first_below(-v, ie, vr, frac * ve)
    end = float(vr) if end is None else end
    top_end = max(top_end, top_start)
    x_top = float(np.max(x[int(np.floor(top_start)) : int(np.ceil(top_end)) + 1]))
    return RepCandidate(
        start=start,
        top_start=top_start,
        top_end=top_end,
        end=end,
        rom_deg=x_top - _interp(x, start),
        return_deg=x_top - _interp(x, end),
        peak_concentric_dps=vc,
        peak_eccentric_dps=ve,
        bounds=(vl, pk, vr),
    )


def refine_phases(
    reps: list[RepCandidate], angle_deg: FloatArray, phase_speed_dps: FloatArray, polarity: int, frac: float
) -> list[RepCandidate]:
    """5c'': the phases of accepted reps timed again on a less smoothed speed (accelerometer only: gravity's
    own low-pass smears onsets), between the same valleys and top; a rep keeps its old phases where the new
    ones are not clear."""
    x, v = polarity * angle_deg, polarity * phase_speed_dps
    out = []
    for r in reps:
        vl, pk, vr = r.bounds
        again = _phases(x, v, vl, pk, vr, frac) if vl >= 0 else None
        out.append(r if again is None else again)
    return out


def detect_reps(
    angle_deg: FloatArray,
    speed_dps: FloatArray,
    fs_hz: float,
    params: AnalysisParams | None = None,
    *,
    polarity: int | None = None,
) -> tuple[list[RepCandidate], dict[str, Any]]:
    """5c: reps and their phase boundaries in one window.

    Args:
        angle_deg: (m,) rotation angle in degrees (offset arbitrary).
        speed_dps: (m,) signed angular speed about the same axis in deg/s (about d angle / dt).
        fs_hz: sample rate of both arrays.
        polarity: +1/-1 to force the direction of a rep; None chooses it with :func:`choose_polarity`.

    Each excursion (5a) becomes a rep from the lowest point since the previous excursion to the lowest point
    before the next one, with its phases (module docstring). Returns the reps (before set-level acceptance)
    and a quality record with keys ``polarity`` (+1/-1), ``candidates`` (count of excursions),
    ``rejected_shape`` (count without a clear rise and return), ``rejected_duration`` (count outside
    ``[min_rep_duration_s, max_rep_duration_s]``).
    """
    p = params or AnalysisParams()
    floor = p.min_rom_deg * 0.8
    exc = None
    if polarity is not None:
        s = polarity
    else:
        s, exc = _polarity_and_excursions(
            angle_deg, fs_hz, floor, return_fraction=p.excursion_return_fraction
        )
    x = s * angle_deg
    v = s * speed_dps
    if exc is None:
        exc = find_excursions(x, fs_hz, floor, p.excursion_return_fraction)
    peaks = exc.peaks.tolist()
    reps: list[RepCandidate] = []
    rej_shape = rej_dur = 0
    bounds = [0, *peaks, x.size - 1]
    for k, pk in enumerate(peaks):
        left_pk, right_pk = bounds[k], bounds[k + 2]
        vl = left_pk + int(np.argmin(x[left_pk : pk + 1]))
        vr = pk + int(np.argmin(x[pk : right_pk + 1]))
        rep = _phases(x, v, vl, pk, vr, p.phase_speed_fraction)
        if rep is None:
            rej_shape += 1
        elif not p.min_rep_duration_s <= rep.duration / fs_hz <= p.max_rep_duration_s:
            rej_dur += 1
        else:
            reps.append(rep)
    quality = {
        "polarity": int(s),
        "candidates": len(peaks),
        "rejected_shape": rej_shape,
        "rejected_duration": rej_dur,
    }
    return reps, quality
