"""Step 4: candidate set windows and set acceptance.

Candidate windows are runs of movement (angular speed above ``moving_speed_dps``, walking excluded) merged
across pauses shorter than ``merge_gap_s`` (top holds and bottom pauses), padded by ``set_margin_s`` of rest
on each side, and at least ``min_window_s`` long.

A window becomes a set when its reps (from :mod:`processing.reps`) look like a deliberate exercise:
- at least ``min_reps_per_set`` reps of at least ``min_rom_deg`` whose rise and return agree (the smaller at
  least ``min_return_fraction`` of the larger), lasting ``min_rep_duration_s``-``max_rep_duration_s``;
- the median ROM at least ``min_set_rom_deg`` and the median concentric peak speed at least
  ``min_peak_speed_dps``;
- consistent ranges: robust coefficient of variation of the ROM (1.4826 MAD / median) at most
  ``max_rom_cv``, or ``max_rom_cv_small`` when the median ROM is below ``small_rom_deg`` (small excursions
  are where passive movement lives, so they must be more regular to count).
  Passive legs are moved by the pelvis and the other leg: their excursions are irregular
  (on the real MEx clam recordings the still side varies 0.3-0.5) whereas deliberate reps repeat the same
  range (0.05-0.1 on the real sets), even when small (UCI low-amplitude reps, 7 deg).
- reps with a ROM above ``max_rom_ratio`` times the median or lasting more than ``max_duration_ratio`` or less
  than ``min_duration_ratio`` times the median are dropped (a posture change caught in the window, not a rep);
- reps overlapping walking by more than ``max_walking_overlap`` are dropped.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from processing.filters import median_small, runs
from processing.params import AnalysisParams
from processing.reps import RepCandidate


@dataclass(frozen=True, slots=True, kw_only=True)
class Window:
    """A candidate set: samples ``[start, stop)`` of the clean grid."""

    start: int
    stop: int


def find_candidate_windows(
    activity: npt.NDArray[np.int8], fs_hz: float, params: AnalysisParams | None = None
) -> tuple[list[Window], dict[str, Any]]:
    """Candidate set windows from the per-sample activity codes (1 = moving, 2 = walking).

    Quality keys: ``windows`` (count), ``moving_runs`` (count before merging).
    """
    p = params or AnalysisParams()
    n = activity.shape[0]
    moving = activity == 1
    rr = runs(moving)
    merged: list[list[int]] = []
    gap = round(p.merge_gap_s * fs_hz)
    walking = activity == 2
    for a, b in rr:
        if merged and a - merged[-1][1] <= gap and not walking[merged[-1][1] : a].any():
            merged[-1][1] = b
        else:
            merged.append([a, b])
    margin = round(p.set_margin_s * fs_hz)
    out: list[Window] = []
    for a, b in merged:
        lo, hi = max(0, a - margin), min(n, b + margin)
        # do not pad into walking: the margins should be rest
        while lo < a and walking[lo]:
            lo += 1
        while hi > b and walking[hi - 1]:
            hi -= 1
        if hi - lo >= p.min_window_s * fs_hz:
            out.append(Window(start=lo, stop=hi))
    return out, {"windows": len(out), "moving_runs": len(rr)}


def robust_cv(values: npt.NDArray[np.float64]) -> float:
    """1.4826 * MAD / median (0 for fewer than 2 values)."""
    if values.size < 2:
        return 0.0
    med = median_small(values)
    if med <= 0:
        return float("inf")
    return float(1.4826 * median_small(np.abs(values - med)) / med)


def accept_set(
    reps: list[RepCandidate],
    walking: npt.NDArray[np.bool_],
    params: AnalysisParams | None = None,
    fs_hz: float | None = None,
) -> tuple[list[RepCandidate], dict[str, Any]]:
    """Filter one window's reps and decide whether they form a set (empty list: not a set).

    ``walking``: (m,) walking mask of the window's samples.

    Quality keys: ``reps_in`` (count), ``reps_kept`` (count), ``median_rom_deg`` (deg), ``rom_cv``
    (robust CV, dimensionless), ``median_peak_speed_dps`` (deg/s), ``verdict`` (``"set"`` or the reason it
    is not: ``"too_few_reps"``, ``"small_rom"``, ``"slow"``, ``"irregular_rom"``).
    """
    p = params or AnalysisParams()
    kept: list[RepCandidate] = []
    for r in reps:
        if r.rom_deg < p.min_rom_deg:
            continue
        # a rep rises and returns by comparable amounts; otherwise it is a shift of position or an
        # excursion cut by the start/end of the recording
        if min(r.return_deg, r.rom_deg) < p.min_return_fraction * max(r.return_deg, r.rom_deg):
            continue
        i0, i1 = int(r.start), max(int(r.start) + 1, int(np.ceil(r.end)))
        w = walking[i0:i1]
        if w.size and np.count_nonzero(w) / w.size > p.max_walking_overlap:
            continue
        kept.append(r)
    # consistency is judged before outliers are pruned (pruning would make irregular movement look regular)
    rom_cv = robust_cv(np.array([r.rom_deg for r in kept]))
    if len(kept) >= p.min_reps_per_set:
        # transitions and posture changes caught in the window are far larger or longer than the reps
        med_rom = median_small([r.rom_deg for r in kept])
        med_dur = median_small([r.end - r.start for r in kept])
        kept = [
            r
            for r in kept
            if r.rom_deg <= p.max_rom_ratio * med_rom
            and p.min_duration_ratio * med_dur <= (r.end - r.start) <= p.max_duration_ratio * med_dur
        ]
        # pruning may leave a rep stranded far from the others (the pruned ones had bridged the gap): keep
        # the longest run of reps without a pause over max_rep_gap_s
        if kept and fs_hz is not None:
            runs_: list[list[RepCandidate]] = [[kept[0]]]
            for r in kept[1:]:
                if (r.start - runs_[-1][-1].end) / fs_hz > p.max_rep_gap_s:
                    runs_.append([r])
                else:
                    runs_[-1].append(r)
            kept = max(runs_, key=len)
    roms = np.array([r.rom_deg for r in kept])
    speeds = np.array([r.peak_concentric_dps for r in kept])
    q: dict[str, Any] = {
        "reps_in": len(reps),
        "reps_kept": len(kept),
        "median_rom_deg": round(median_small(roms), 2) if roms.size else None,
        "rom_cv": round(rom_cv, 3) if roms.size else None,
        "median_peak_speed_dps": round(median_small(speeds), 2) if speeds.size else None,
    }
    verdict = "set"
    if len(kept) < p.min_reps_per_set:
        verdict = "too_few_reps"
    elif median_small(roms) < p.min_set_rom_deg:
        verdict = "small_rom"
    elif median_small(speeds) < p.min_peak_speed_dps:
        verdict = "slow"
    elif rom_cv > (p.max_rom_cv_small if median_small(roms) < p.small_rom_deg else p.max_rom_cv):
        verdict = "irregular_rom"
    q["verdict"] = verdict
    return (kept if verdict == "set" else []), q


def _mean3(v: list[float]) -> float:
    """``float(np.mean(v))`` of three floats: NumPy sums short arrays left to right, then divides."""
    return (v[0] + v[1] + v[2]) / 3


def _split_by_range(group: list[RepCandidate], ratio: float) -> list[list[RepCandidate]]:
    """Split where the typical ROM changes durably (median of 3 reps either side differs by ``ratio``):
    two movements projected on one axis. Single partial reps do not split (medians ignore them)."""
    roms = [float(r.rom_deg) for r in group]
    best, best_i = ratio, -1
    for i in range(3, len(group) - 2):
        lw, rw = roms[i - 3 : i], roms[i : i + 3]  # three reps either side
        left, right = median_small(lw), median_small(rw)
        q = max(left, right) / max(min(left, right), 1e-6)
        # ties (a boundary one rep early still has equal medians) go to the cleaner cut: ratio of means
        lm, rm = _mean3(lw), _mean3(rw)
        q += 1e-3 * max(lm, rm) / max(min(lm, rm), 1e-6)
        if q > best:
            best, best_i = q, i
    if best_i < 0:
        return [group]
    return _split_by_range(group[:best_i], ratio) + _split_by_range(group[best_i:], ratio)


def group_reps(
    reps: list[RepCandidate], fs_hz: float, params: AnalysisParams | None = None
) -> list[list[RepCandidate]]:
    """Split time-ordered reps into candidate sets: where the pause between one rep's end and the next one's
    start exceeds ``max_rep_gap_s`` (longer than any bottom pause within a set), and where the typical ROM
    changes by more than ``max_group_rom_ratio`` (another exercise seen through the same axis)."""
    p = params or AnalysisParams()
    groups: list[list[RepCandidate]] = []
    for r in reps:
        if groups and (r.start - groups[-1][-1].end) / fs_hz <= p.max_rep_gap_s:
            groups[-1].append(r)
        else:
            groups.append([r])
    return [part for g in groups for part in _split_by_range(g, p.max_group_rom_ratio)]
