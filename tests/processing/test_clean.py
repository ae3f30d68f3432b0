"""Step 1: cleaning and resampling."""

from __future__ import annotations

import numpy as np
import pytest

from hipsync.records import Recording, RecordingError
from processing.clean import clean_and_resample
from processing.params import AnalysisParams


def _rec(t: np.ndarray, fs_hz: float | None = None, gyro: bool = True) -> Recording:
    n = t.size
    acc = np.column_stack([np.sin(t), np.cos(t), np.ones(n)])
    return Recording(time_s=t, accel_g=acc, gyro_dps=acc * 10 if gyro else None, fs_hz=fs_hz)


def test_irregular_unsorted_duplicated_input_becomes_a_uniform_grid(rng: np.random.Generator) -> None:
    t = np.sort(np.arange(0, 20, 1 / 104) + rng.normal(0, 0.001, 2080))
    t = np.concatenate([t, t[100:110]])  # duplicates
    order = rng.permutation(t.size)  # shuffled
    clean, q = clean_and_resample(_rec(t[order], fs_hz=104.0))
    dt = np.diff(clean.time_s)
    assert np.allclose(dt, 1 / AnalysisParams().target_fs_hz)
    assert q["duplicates_dropped"] == 10
    assert q["was_unsorted"] is True
    assert clean.time_s[0] == pytest.approx(t.min())
    # values follow the input signal (sin t) after interpolation
    assert np.allclose(clean.accel_g[:, 0], np.sin(clean.time_s), atol=0.01)


def test_given_rate_is_used_and_never_reestimated() -> None:
    t = np.arange(0, 10, 1 / 25)
    _, q = clean_and_resample(_rec(t, fs_hz=26.0))
    assert q["fs_in_hz"] == 26.0
    assert q["fs_source"] == "given"


def test_missing_rate_comes_from_the_median_interval() -> None:
    t = np.arange(0, 10, 1 / 208)
    _, q = clean_and_resample(_rec(t, fs_hz=None))
    assert q["fs_source"] == "median_dt"
    assert q["fs_in_hz"] == pytest.approx(208.0, rel=1e-3)


def test_long_gaps_are_marked_invalid_and_short_ones_are_not() -> None:
    t = np.arange(0, 30, 0.02)
    keep = ~(((t > 10) & (t < 12)) | ((t > 20) & (t < 20.2)))
    clean, q = clean_and_resample(_rec(t[keep]), AnalysisParams(max_interp_gap_s=0.5))
    assert q["gaps"] == 1
    assert q["gap_total_s"] == pytest.approx(2.0, abs=0.05)
    invalid_t = clean.time_s[~clean.valid]
    assert invalid_t.min() > 10.0 and invalid_t.max() < 12.0
    assert clean.valid[(clean.time_s > 20) & (clean.time_s < 20.2)].all()


def test_non_finite_rows_are_dropped() -> None:
    t = np.arange(0, 10, 0.02)
    rec = _rec(t)
    rec.accel_g[50] = np.nan
    rec.gyro_dps[60] = np.inf  # type: ignore[index]
    clean, q = clean_and_resample(rec)
    assert q["nonfinite_dropped"] == 2
    assert np.isfinite(clean.accel_g).all() and np.isfinite(clean.gyro_dps).all()  # type: ignore[arg-type]


def test_fewer_than_two_samples_is_an_error() -> None:
    with pytest.raises(RecordingError):
        clean_and_resample(_rec(np.array([0.0])))


def test_high_rate_input_is_anti_aliased() -> None:
    # a 40 Hz vibration at 200 Hz must not fold into the 50 Hz grid as a slow wobble
    t = np.arange(0, 10, 1 / 200)
    acc = np.column_stack([0.3 * np.sin(2 * np.pi * 40 * t), np.zeros_like(t), np.ones_like(t)])
    clean, _ = clean_and_resample(Recording(time_s=t, accel_g=acc, fs_hz=200.0))
    assert np.abs(clean.accel_g[50:-50, 0]).max() < 0.03
