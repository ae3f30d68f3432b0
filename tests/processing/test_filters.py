"""The cached zero-phase low-pass equals SciPy's sosfiltfilt exactly; the small median equals np.median."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import signal

from processing.filters import lowpass, median_small


@pytest.mark.parametrize("order", [2, 4])
@pytest.mark.parametrize("shape", [(40,), (1000,), (333, 3)])
@pytest.mark.parametrize(("cutoff_hz", "fs_hz"), [(0.3, 25.0), (4.0, 25.0), (1.0, 104.0)])
def test_lowpass_matches_scipy_sosfiltfilt(
    rng: np.random.Generator, order: int, shape: tuple[int, ...], cutoff_hz: float, fs_hz: float
) -> None:
    x = rng.normal(size=shape)
    # lowpass designs with the normalised cutoff rounded to 9 decimals (its design cache key)
    sos = signal.butter(order, round(cutoff_hz / (fs_hz / 2.0), 9), output="sos")
    expected = signal.sosfiltfilt(sos, x, axis=0)
    got = lowpass(x, cutoff_hz, fs_hz, order)
    assert got.shape == x.shape
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-12)


def test_median_small_matches_numpy() -> None:
    rng = np.random.default_rng(3)
    for n in range(1, 30):
        x = rng.normal(size=n) * 37.0
        assert median_small(x) == float(np.median(x)) == median_small(x.tolist())
    assert np.isnan(median_small([1.0, float("nan"), 2.0]))
    assert np.isnan(median_small([]))


@pytest.mark.parametrize("n", [10, 40, 1000])
def test_lowpass_columns_equal_separate_calls(rng: np.random.Generator, n: int) -> None:
    # rotation_angle filters its two angle estimates in one call: each column must equal its own call
    a, b = rng.normal(size=n).cumsum(), rng.normal(size=n).cumsum()
    both = lowpass(np.column_stack((a, b)), 0.5, 104.0)
    assert np.array_equal(both[:, 0], lowpass(a, 0.5, 104.0))
    assert np.array_equal(both[:, 1], lowpass(b, 0.5, 104.0))
