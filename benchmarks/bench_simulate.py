"""Simulator speed: a 45-minute session at 25/100/208 Hz, a compact 8-week program, and the kernel.

The issue asks that a 45-minute session at 100 Hz generates in a few seconds at most. Baseline, in the
same process: the sensor kernel (compose orientations, body rates, specific force) on the same number of
fine-grid samples with scipy's ``Rotation`` instead of the hand-vectorised quaternions the simulator uses.

Run: ``uv run python -m benchmarks simulate``.
"""

from __future__ import annotations

import time

import numpy as np
from scipy.spatial.transform import Rotation

from simulate import SessionSpec, simulate_program, simulate_session
from simulate.kinematics import body_rate_q, qapply, qconj, qfrom_rotvec, qmul

ALL = (
    "clamshell",
    "side_lying_leg_raise",
    "banded_abduction_standing",
    "banded_abduction_seated",
    "single_leg_glute_bridge",
)


def _clock() -> tuple[float, float]:
    return time.perf_counter(), time.process_time()


def _since(t: tuple[float, float]) -> str:
    wall, cpu = time.perf_counter() - t[0], time.process_time() - t[1]
    return f"{wall:6.2f} s wall, {cpu:6.2f} s CPU"


def _kernel_ours(rv_a: np.ndarray, rv_b: np.ndarray, acc: np.ndarray, fs: float) -> np.ndarray:
    q = qmul(qfrom_rotvec(rv_a), qfrom_rotvec(rv_b))
    f = qapply(qconj(q), acc)
    return np.asarray(body_rate_q(q, fs) + f)


def _kernel_scipy(rv_a: np.ndarray, rv_b: np.ndarray, acc: np.ndarray, fs: float) -> np.ndarray:
    r = Rotation.from_rotvec(rv_a) * Rotation.from_rotvec(rv_b)
    f = r.inv().apply(acc)
    rel = (r[:-1].inv() * r[1:]).as_rotvec() * fs
    w = np.empty_like(f)
    w[1:-1] = 0.5 * (rel[:-1] + rel[1:])
    w[0], w[-1] = rel[0], rel[-1]
    return np.asarray(w + f)


def main() -> None:
    spec45 = dict(exercises=ALL, sets_per_exercise=3)
    for fs in (25.0, 100.0, 208.0):
        t = _clock()
        s = simulate_session(3, spec=SessionSpec(fs_hz=fs, **spec45))  # type: ignore[arg-type]
        print(
            f"session {s.duration_s / 60:5.1f} min at {fs:5.0f} Hz ({s.n_samples:7d} samples, "
            f"{len(s.truth['sets'])} sets): {_since(t)}"
        )
    t = _clock()
    p = simulate_program(8, 1, sessions_per_week=3, fs_hz=52.0, compact=True)
    minutes = sum(x.duration_s for x in p.sessions) / 60
    print(f"compact program 8 weeks, {len(p.sessions)} sessions ({minutes:.0f} min at 52 Hz): {_since(t)}")

    n = 45 * 60 * 200  # the fine grid of a 45-minute session at 100 Hz
    rng = np.random.default_rng(0)
    rv_a, rv_b, acc = rng.normal(size=(n, 3)), 0.1 * rng.normal(size=(n, 3)), rng.normal(size=(n, 3))
    np.testing.assert_allclose(
        _kernel_ours(rv_a, rv_b, acc, 200.0), _kernel_scipy(rv_a, rv_b, acc, 200.0), atol=1e-6
    )
    for name, fn in (
        ("quaternion kernel (ours)", _kernel_ours),
        ("scipy Rotation kernel (baseline)", _kernel_scipy),
    ):
        t = _clock()
        fn(rv_a, rv_b, acc, 200.0)
        print(f"{name:34s} on {n} samples: {_since(t)}")


if __name__ == "__main__":
    main()
