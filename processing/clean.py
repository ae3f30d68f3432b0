"""Step 1: clean and resample to a uniform grid.

Input timestamps may be irregular, unsorted, duplicated or have gaps. The output is a uniform grid at
``params.target_fs_hz`` on the recording's own time axis, with a ``valid`` mask that is False inside gaps
longer than ``params.max_interp_gap_s`` (the signal there is linearly interpolated, not measured).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from hipsync.records import Recording, RecordingError
from processing.filters import FloatArray, lowpass
from processing.params import AnalysisParams


@dataclass(frozen=True, slots=True, kw_only=True)
class CleanSignal:
    """Uniformly sampled signal.

    Attributes:
        time_s: (n,) grid in seconds on the recording's axis.
        fs_hz: grid rate in Hz.
        accel_g: (n, 3) specific force in g, sensor frame.
        gyro_dps: (n, 3) angular rate in deg/s, sensor frame, or None.
        valid: (n,) False where the grid point lies inside a gap longer than ``max_interp_gap_s``.
    """

    time_s: FloatArray
    fs_hz: float
    accel_g: FloatArray
    gyro_dps: FloatArray | None
    valid: npt.NDArray[np.bool_]

    @property
    def n(self) -> int:
        return int(self.time_s.shape[0])


def clean_and_resample(
    recording: Recording, params: AnalysisParams | None = None
) -> tuple[CleanSignal, dict[str, Any]]:
    """Sort, de-duplicate, drop non-finite rows, anti-alias and resample to a uniform grid.

    The input rate is ``recording.fs_hz`` when given (never re-estimated), else the median sample interval.

    Quality keys: ``n_in`` (samples), ``n_out`` (samples), ``fs_in_hz`` (Hz), ``fs_source``
    (``"given"``/``"median_dt"``), ``fs_out_hz`` (Hz), ``nonfinite_dropped`` (samples),
    ``duplicates_dropped`` (samples), ``was_unsorted`` (bool), ``gaps`` (count of gaps longer than
    ``max_interp_gap_s``), ``gap_total_s`` (s), ``interval_jitter_s`` (s, std of sample intervals).
    """
    p = params or AnalysisParams()
    t = np.asarray(recording.time_s, dtype=np.float64)
    acc = np.asarray(recording.accel_g, dtype=np.float64)
    gyr = None if recording.gyro_dps is None else np.asarray(recording.gyro_dps, dtype=np.float64)
    n_in = t.shape[0]

    finite = np.isfinite(t) & np.isfinite(acc).all(axis=1)
    if gyr is not None:
        finite &= np.isfinite(gyr).all(axis=1)
    nonfinite = int(n_in - finite.sum())
    if nonfinite:
        t, acc = t[finite], acc[finite]
        gyr = None if gyr is None else gyr[finite]

    unsorted = bool(np.any(np.diff(t) < 0))
    if unsorted:
        order = np.argsort(t, kind="stable")
        t, acc = t[order], acc[order]
        gyr = None if gyr is None else gyr[order]
    keep = np.concatenate(([True], np.diff(t) > 0))
    dups = int(keep.size - keep.sum())
    if dups:
        t, acc = t[keep], acc[keep]
        gyr = None if gyr is None else gyr[keep]

    if t.shape[0] < 2:
        raise RecordingError("recording has fewer than 2 usable samples")

    dt = np.diff(t)
    if recording.fs_hz is not None:
        fs_in, fs_source = float(recording.fs_hz), "given"
    else:
        fs_in, fs_source = float(1.0 / np.median(dt)), "median_dt"

    fs_out = float(p.target_fs_hz)
    if fs_in > 1.25 * fs_out:
        # Anti-alias before decimating; filtering on the sample index is adequate for mild jitter.
        acc = lowpass(acc, 0.4 * fs_out, fs_in, order=4)
        gyr = None if gyr is None else lowpass(gyr, 0.4 * fs_out, fs_in, order=4)

    n_out = int(np.floor((t[-1] - t[0]) * fs_out)) + 1
    grid = t[0] + np.arange(n_out, dtype=np.float64) / fs_out
    acc_out = np.empty((n_out, 3))
    for k in range(3):
        acc_out[:, k] = np.interp(grid, t, acc[:, k])
    gyr_out = None
    if gyr is not None:
        gyr_out = np.empty((n_out, 3))
        for k in range(3):
            gyr_out[:, k] = np.interp(grid, t, gyr[:, k])

    valid = np.ones(n_out, dtype=bool)
    gap_idx = np.flatnonzero(dt > p.max_interp_gap_s)
    for i in gap_idx.tolist():
        lo = np.searchsorted(grid, t[i], side="right")
        hi = np.searchsorted(grid, t[i + 1], side="left")
        valid[lo:hi] = False

    quality: dict[str, Any] = {
        "n_in": int(n_in),
        "n_out": n_out,
        "fs_in_hz": round(fs_in, 4),
        "fs_source": fs_source,
        "fs_out_hz": fs_out,
        "nonfinite_dropped": nonfinite,
        "duplicates_dropped": dups,
        "was_unsorted": unsorted,
        "gaps": int(gap_idx.size),
        "gap_total_s": round(float(dt[gap_idx].sum()), 3) if gap_idx.size else 0.0,
        "interval_jitter_s": round(float(np.std(dt)), 6),
    }
    return CleanSignal(time_s=grid, fs_hz=fs_out, accel_g=acc_out, gyro_dps=gyr_out, valid=valid), quality
