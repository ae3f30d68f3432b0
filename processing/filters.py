"""Small zero-phase filter helpers shared by the steps (SciPy, vectorised over columns)."""

from __future__ import annotations

import functools

import numpy as np
import numpy.typing as npt
from scipy import ndimage, signal

FloatArray = npt.NDArray[np.float64]


@functools.lru_cache(maxsize=64)
def _butter_sos(order: int, wn: float) -> npt.NDArray[np.float64]:
    # filter design costs more than filtering a short window: design each (order, cutoff) once
    return np.asarray(signal.butter(order, wn, output="sos"), dtype=np.float64)


def lowpass(x: FloatArray, cutoff_hz: float, fs_hz: float, order: int = 2) -> FloatArray:
    """Zero-phase Butterworth low-pass along axis 0 (shape preserved).

    Signals shorter than the filter's padding are smoothed with a moving average instead, so the helper
    never fails on short windows.
    """
    if x.shape[0] == 0:
        return x.copy()
    wn = cutoff_hz / (fs_hz / 2.0)
    if wn >= 1.0:
        return x.copy()
    sos = _butter_sos(order, round(wn, 9))
    padlen = 3 * (2 * sos.shape[0] + 1)
    if x.shape[0] <= padlen:
        return moving_mean(x, max(1, round(fs_hz / cutoff_hz / 2)))
    return np.asarray(signal.sosfiltfilt(sos, x, axis=0), dtype=np.float64)


def moving_mean(x: FloatArray, width: int) -> FloatArray:
    """Centred moving average over ``width`` samples along axis 0 (edges: nearest)."""
    if width <= 1 or x.shape[0] == 0:
        return x.copy()
    return np.asarray(ndimage.uniform_filter1d(x, size=width, axis=0, mode="nearest"), dtype=np.float64)


def moving_std(x: FloatArray, width: int) -> FloatArray:
    """Centred moving standard deviation over ``width`` samples of a 1-D signal."""
    m = moving_mean(x, width)
    m2 = moving_mean(x * x, width)
    return np.sqrt(np.maximum(m2 - m * m, 0.0))


def runs(mask: npt.NDArray[np.bool_]) -> list[tuple[int, int]]:
    """Half-open ``[start, stop)`` index ranges where ``mask`` is True."""
    if mask.size == 0:
        return []
    d = np.diff(np.concatenate(([0], mask.astype(np.int8), [0])))
    starts = np.flatnonzero(d == 1)
    stops = np.flatnonzero(d == -1)
    return list(zip(starts.tolist(), stops.tolist(), strict=True))
