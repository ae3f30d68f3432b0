"""Step 2: gravity, gyro bias, rotation angle (mounting invariant)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from hipsync.records import Recording
from processing.clean import clean_and_resample
from processing.orientation import estimate_motion, principal_axis, rotation_angle
from processing.params import AnalysisParams

P = AnalysisParams()


def _trace(rec: Recording) -> Any:
    clean, _ = clean_and_resample(rec, P)
    motion, mq = estimate_motion(clean, P)
    return rotation_angle(motion, 0, clean.n, clean.fs_hz, P), motion, mq


@pytest.mark.parametrize("seed", range(4))
def test_fused_angle_recovers_the_rotation_for_any_mounting(make_set: Any, seed: int) -> None:
    rng = np.random.default_rng(seed)
    s = make_set(rng, rest_up=np.array([0.0, 0.0, 1.0]), axis_world=[1.0, 0.0, 0.0], rom_deg=30.0, n_reps=4)
    trace, _, _ = _trace(s.recording)
    assert trace.source == "fused"
    excursion = np.percentile(trace.angle_deg, 99.5) - np.percentile(trace.angle_deg, 0.5)
    assert excursion == pytest.approx(30.0, abs=1.5)
    # the signed speed is the derivative of the angle (same sign convention)
    d = np.gradient(trace.angle_deg) * 50.0
    assert np.corrcoef(d, trace.speed_dps)[0, 1] > 0.95
    # the axis is the world axis seen in the sensor frame
    axis_sensor = s.mount.inv().apply([1.0, 0.0, 0.0])
    assert abs(float(np.dot(trace.axis, axis_sensor))) > 0.99


def test_rotation_about_vertical_uses_the_gyro_alone(make_set: Any, synth_rng: np.random.Generator) -> None:
    # seated abduction: thigh horizontal, rotation about the vertical
    s = make_set(
        synth_rng, rest_up=np.array([1.0, 0.0, 0.0]), axis_world=[0.0, 0.0, 1.0], rom_deg=25.0, n_reps=4
    )
    trace, _, _ = _trace(s.recording)
    assert trace.source == "gyro"
    excursion = np.percentile(trace.angle_deg, 99.5) - np.percentile(trace.angle_deg, 0.5)
    assert excursion == pytest.approx(25.0, abs=2.0)


def test_accelerometer_only_angle(make_set: Any, synth_rng: np.random.Generator) -> None:
    s = make_set(
        synth_rng, rest_up=np.array([0.0, 1.0, 0.0]), axis_world=[1.0, 0.0, 0.0], rom_deg=40.0, gyro=False
    )
    trace, motion, mq = _trace(s.recording)
    assert trace.source == "accel" and motion.gyro_dps is None and mq["has_gyro"] is False
    excursion = np.percentile(trace.angle_deg, 99.5) - np.percentile(trace.angle_deg, 0.5)
    assert excursion == pytest.approx(40.0, abs=2.0)


def test_gyro_bias_is_estimated_from_still_periods(make_set: Any, synth_rng: np.random.Generator) -> None:
    s = make_set(
        synth_rng, rest_up=np.array([0.0, 0.0, 1.0]), axis_world=[1.0, 0.0, 0.0], n_reps=2, lead_s=10.0
    )
    bias = np.array([1.5, -0.8, 0.4])
    rec = Recording(
        time_s=s.recording.time_s,
        accel_g=s.recording.accel_g,
        gyro_dps=s.recording.gyro_dps + bias,
        fs_hz=50.0,
    )
    _, _, mq = _trace(rec)
    assert np.allclose(mq["gyro_bias_dps"], bias, atol=0.15)


def test_principal_axis_of_planar_rotation(rng: np.random.Generator) -> None:
    axis = Rotation.random(random_state=3).apply([0.0, 0.0, 1.0])
    w = np.outer(rng.normal(0, 30, 500), axis) + rng.normal(0, 1, (500, 3))
    assert abs(float(np.dot(principal_axis(w), axis))) > 0.999


def test_written_out_cross_product_equals_numpy(rng: np.random.Generator) -> None:
    # _gravity_angle spells out np.cross for 3-vectors; its angle must not change
    from processing.orientation import _gravity_angle

    g = rng.normal(size=(200, 3))
    g /= np.linalg.norm(g, axis=1, keepdims=True)
    axis = np.array([0.3, -0.5, 0.8]) / np.linalg.norm([0.3, -0.5, 0.8])
    proj = g - np.outer(g @ axis, axis)
    e1 = proj.mean(axis=0) / np.linalg.norm(proj.mean(axis=0))
    expected = -np.degrees(np.unwrap(np.arctan2(proj @ np.cross(axis, e1), proj @ e1)))
    assert np.array_equal(_gravity_angle(g, axis)[0], expected)
