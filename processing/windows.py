"""Step 4: movement periods, the candidate set windows.

A window is a run of movement (activity code 1 above the recording's own moving threshold, see
:func:`processing.activity.moving_threshold_dps`; walking excluded) merged across pauses shorter than
``merge_gap_s`` (bottom pauses and top holds), padded by ``set_margin_s`` of rest on each side (not into
walking), and at least ``min_window_s`` long. Windows are candidates only: which reps form a set, and where
one set ends and the next begins, is decided per window from the reps' own pauses and ranges
(:mod:`processing.sets`), and a found set's span is widened by two of its own rep periods to catch slow
first and last reps (:mod:`processing.pipeline`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from processing.filters import runs
from processing.params import AnalysisParams


@dataclass(frozen=True, slots=True, kw_only=True)
class Window:
    """A candidate set: samples ``[start, stop)`` of the clean grid."""

    start: int
    stop: int


def _merge_runs(
    moving_runs: list[tuple[int, int]], walking: npt.NDArray[np.bool_], fs_hz: float, params: AnalysisParams
) -> list[list[int]]:
    """Join movement runs across pauses shorter than ``merge_gap_s`` (not across walking)."""
    gap = round(params.merge_gap_s * fs_hz)
    merged: list[list[int]] = []
    for a, b in moving_runs:
        if merged and a - merged[-1][1] <= gap and not walking[merged[-1][1] : a].any():
            merged[-1][1] = b
        else:
            merged.append([a, b])
    return merged


def find_candidate_windows(
    activity: npt.NDArray[np.int8],
    fs_hz: float,
    params: AnalysisParams | None = None,
) -> tuple[list[Window], dict[str, Any]]:
    """Candidate set windows from the per-sample activity codes (1 = moving, 2 = walking).

    Quality keys: ``windows`` (count), ``moving_runs`` (count before merging).
    """
    p = params or AnalysisParams()
    n = activity.shape[0]
    rr = runs(activity == 1)
    walking = activity == 2
    merged = _merge_runs(rr, walking, fs_hz, p)
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
