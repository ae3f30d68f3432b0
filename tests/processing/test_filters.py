"""The cached zero-phase low-pass equals SciPy's sosfiltfilt exactly."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import signal

from processing.filters import lowpass


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
