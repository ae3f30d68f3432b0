"""The hand-vectorised quaternion helpers agree with scipy's Rotation (the reference implementation)."""

from __future__ import annotations

import numpy as np
from scipy.spatial.transform import Rotation

from simulate.kinematics import (
    body_rate_q,
    min_jerk,
    qapply,
    qconj,
    qfrom_rotvec,
    qmul,
    qslerp,
    qto_rotvec,
    skewed_min_jerk,
)


def _same_rotation(q1: np.ndarray, q2: np.ndarray) -> None:
    # q and -q are the same rotation
    np.testing.assert_allclose(np.abs(np.sum(q1 * q2, axis=-1)), 1.0, atol=1e-12)


def test_quaternion_helpers_match_scipy(rng: np.random.Generator) -> None:
    a = Rotation.random(500, random_state=1)
    b = Rotation.random(500, random_state=2)
    v = rng.normal(size=(500, 3))
    _same_rotation(qmul(a.as_quat(), b.as_quat()), (a * b).as_quat())
    _same_rotation(qconj(a.as_quat()), a.inv().as_quat())
    rv = rng.normal(size=(500, 3))
    rv[0] = 0.0  # the zero rotation
    rv[1] = [1e-9, 0.0, 0.0]  # tiny: the small-angle branch
    _same_rotation(qfrom_rotvec(rv), Rotation.from_rotvec(rv).as_quat())
    np.testing.assert_allclose(qto_rotvec(a.as_quat()), a.as_rotvec(), atol=1e-12)
    np.testing.assert_allclose(qapply(a.as_quat(), v), a.apply(v), atol=1e-12)


def test_slerp_and_body_rate() -> None:
    a, b = Rotation.random(2, random_state=3)
    s = np.linspace(0.0, 1.0, 11)
    q = qslerp(a.as_quat(), b.as_quat(), s)
    _same_rotation(q[0], a.as_quat())
    _same_rotation(q[-1], b.as_quat())
    # constant rate about a fixed body axis: the rate is recovered exactly
    w = np.array([0.3, -1.2, 0.5])  # rad/s
    t = np.arange(200) / 100.0
    q = qmul(a.as_quat(), qfrom_rotvec(t[:, None] * w))
    np.testing.assert_allclose(body_rate_q(q, 100.0), np.tile(w, (200, 1)), atol=1e-9)


def test_minimum_jerk_profiles() -> None:
    u = np.linspace(0.0, 1.0, 1001)
    for prof in (min_jerk(u), skewed_min_jerk(u, 0.3), skewed_min_jerk(u, -0.3)):
        assert prof[0] == 0.0 and abs(prof[-1] - 1.0) < 1e-12
        assert np.all(np.diff(prof) >= 0)
        v = np.gradient(prof, u)
        assert abs(v[0]) < 1e-3 and abs(v[-1]) < 1e-3
    # the skew moves the speed peak
    peaks = [u[np.argmax(np.gradient(skewed_min_jerk(u, k), u))] for k in (0.3, 0.0, -0.3)]
    assert peaks[0] < peaks[1] < peaks[2]
