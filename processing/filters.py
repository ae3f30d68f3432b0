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


@functools.lru_cache(maxsize=64)
def _sos_zi(order: int, wn: float) -> npt.NDArray[np.float64]:
    # steady-state initial conditions (sections, 2): scipy's sosfiltfilt solves for them on every call,
    # which costs as much as filtering one of our short windows
    return np.asarray(signal.sosfilt_zi(_butter_sos(order, wn)), dtype=np.float64)


def _sosfiltfilt(order: int, wn: float, x: FloatArray, padlen: int) -> FloatArray:
    """``scipy.signal.sosfiltfilt(sos, x, axis=0)`` (odd padding) with the cached design and initial state."""
    sos = _butter_sos(order, wn)
    zi = _sos_zi(order, wn).reshape((sos.shape[0], 2) + (1,) * (x.ndim - 1))
    ext = np.concatenate((2.0 * x[:1] - x[padlen:0:-1], x, 2.0 * x[-1:] - x[-2 : -(padlen + 2) : -1]), axis=0)
    y, _ = signal.sosfilt(sos, ext, axis=0, zi=zi * ext[:1])
    y, _ = signal.sosfilt(sos, y[::-1], axis=0, zi=zi * y[-1:])
    return np.asarray(y[::-1][padlen:-padlen], dtype=np.float64)


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
    wn = round(wn, 9)
    sos = _butter_sos(order, wn)
    padlen = 3 * (2 * sos.shape[0] + 1)
    if x.shape[0] <= padlen:
        return moving_mean(x, max(1, round(fs_hz / cutoff_hz / 2)))
    return _sosfiltfilt(order, wn, x, padlen)


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


def median_small(values: FloatArray | list[float]) -> float:
    """``float(np.median(values))`` of a short 1-D sequence without NumPy's per-call overhead (same value:
    the middle element or the mean of the two middle ones; NaN when empty or when any value is NaN)."""
    v = sorted(values.tolist() if isinstance(values, np.ndarray) else values)
    n = len(v)
    if n == 0 or any(x != x for x in v):
        return float("nan")
    h = n // 2
    return float(v[h]) if n % 2 else float((v[h - 1] + v[h]) / 2)


def runs(mask: npt.NDArray[np.bool_]) -> list[tuple[int, int]]:
    """Half-open ``[start, stop)`` index ranges where ``mask`` is True."""
    if mask.size == 0:
        return []
    d = np.diff(np.concatenate(([0], mask.astype(np.int8), [0])))
    starts = np.flatnonzero(d == 1)
    stops = np.flatnonzero(d == -1)
    return list(zip(starts.tolist(), stops.tolist(), strict=True))
