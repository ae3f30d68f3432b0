"""Small motion primitives on a uniform time grid: smooth steps, band-limited noise, rotation helpers.

Frames
------
World: ``x`` forward (the facing direction of the posture before its heading is applied), ``y`` left,
``z`` up. Thigh (right leg): ``x`` anterior, ``y`` medial (towards the left leg), ``z`` along the femur
from the knee towards the hip. In quiet standing the right thigh frame equals the world frame.

Hip rotations of the right thigh as rotation vectors in the thigh frame (positive angle):
flexion ``-y``, abduction ``-x``, external rotation ``-z`` (see :data:`FLEXION_AXIS` and friends).
The left leg is produced by mirroring the finished right-leg sensor signals (see ``simulate.sensor``).
"""

from __future__ import annotations

import functools

import numpy as np
import numpy.typing as npt
from scipy import signal

FloatArray = npt.NDArray[np.float64]

GRAVITY_MPS2 = 9.80665

FLEXION_AXIS = np.array([0.0, -1.0, 0.0])
ABDUCTION_AXIS = np.array([-1.0, 0.0, 0.0])
EXTERNAL_ROTATION_AXIS = np.array([0.0, 0.0, -1.0])


def min_jerk(u: FloatArray) -> FloatArray:
    """Minimum-jerk position profile 10u^3 - 15u^4 + 6u^5 for u in [0, 1] (clipped outside)."""
    u = np.clip(u, 0.0, 1.0)
    return u * u * u * (10.0 + u * (-15.0 + 6.0 * u))


def skewed_min_jerk(u: FloatArray, skew: float) -> FloatArray:
    """Minimum-jerk profile on a warped time axis so that successive movements are not identical.

    ``skew`` in (-0.5, 0.5) moves the speed peak earlier (positive) or later (negative); velocity and
    acceleration stay zero at both ends because the warp has a finite, positive slope there.
    """
    u = np.clip(u, 0.0, 1.0)
    return min_jerk(u + skew * u * (1.0 - u))


@functools.lru_cache(maxsize=256)
def butter_sos(order: int, wn: float | tuple[float, float], btype: str = "lowpass") -> FloatArray:
    """Cached Butterworth design (second-order sections); ``wn`` normalised to Nyquist."""
    return np.asarray(signal.butter(order, wn, btype=btype, output="sos"), dtype=float)


def smooth_noise(
    rng: np.random.Generator, n: int, fs_hz: float, cutoff_hz: float, sigma: float, dims: int = 1
) -> FloatArray:
    """Zero-mean Gaussian noise low-passed at ``cutoff_hz`` with standard deviation ``sigma``.

    Returns shape (n,) when ``dims == 1`` else (n, dims). Zero-phase filtered, so it has no edge lag.
    """
    if n == 0:
        return np.zeros((0,) if dims == 1 else (0, dims))
    pad = int(min(4 * fs_hz / cutoff_hz, 20 * fs_hz))
    white = rng.standard_normal((n + 2 * pad, dims))
    sos = butter_sos(2, round(min(cutoff_hz / (fs_hz / 2.0), 0.99), 9))
    out = np.asarray(signal.sosfilt(sos, signal.sosfilt(sos, white, axis=0)[::-1], axis=0), dtype=float)
    out = out[::-1][pad : pad + n]
    std = out.std(axis=0)
    out = out / np.where(std > 0, std, 1.0) * sigma
    return out[:, 0] if dims == 1 else out


def band_noise(
    rng: np.random.Generator, n: int, fs_hz: float, band_hz: tuple[float, float], sigma: float, dims: int = 1
) -> FloatArray:
    """Gaussian noise band-passed to ``band_hz`` (e.g. physiological tremor 6-11 Hz), std ``sigma``."""
    if n == 0:
        return np.zeros((0,) if dims == 1 else (0, dims))
    hi = min(band_hz[1], 0.45 * fs_hz)
    lo = min(band_hz[0], 0.5 * hi)
    pad = int(2 * fs_hz)
    white = rng.standard_normal((n + 2 * pad, dims))
    sos = butter_sos(2, (round(lo / (fs_hz / 2.0), 9), round(hi / (fs_hz / 2.0), 9)), "bandpass")
    out = np.asarray(signal.sosfilt(sos, white, axis=0), dtype=float)[pad : pad + n]
    std = out.std(axis=0)
    out = out / np.where(std > 0, std, 1.0) * sigma
    return out[:, 0] if dims == 1 else out


def unit(v: FloatArray) -> FloatArray:
    """``v`` scaled to unit length along its last axis."""
    return np.asarray(v / np.linalg.norm(v, axis=-1, keepdims=True), dtype=float)


def second_derivative(x: FloatArray, fs_hz: float) -> FloatArray:
    """d^2x/dt^2 along axis 0 by central differences (same shape as ``x``)."""
    if x.shape[0] < 3:
        return np.zeros_like(x)
    out = np.empty_like(x)
    out[1:-1] = (x[2:] - 2.0 * x[1:-1] + x[:-2]) * (fs_hz * fs_hz)
    out[0] = out[1]
    out[-1] = out[-2]
    return out


# Quaternions: arrays (..., 4) in scalar-last order (x, y, z, w), the scipy convention. Vectorised by
# hand because scipy's Rotation composition is slow for the million-sample grids of long sessions.


def qmul(a: FloatArray, b: FloatArray) -> FloatArray:
    """Hamilton product ``a * b`` (apply ``b`` first, then ``a``), broadcasting over leading axes."""
    ax, ay, az, aw = a[..., 0], a[..., 1], a[..., 2], a[..., 3]
    bx, by, bz, bw = b[..., 0], b[..., 1], b[..., 2], b[..., 3]
    out = np.empty(np.broadcast_shapes(a.shape, b.shape))
    out[..., 0] = aw * bx + ax * bw + ay * bz - az * by
    out[..., 1] = aw * by - ax * bz + ay * bw + az * bx
    out[..., 2] = aw * bz + ax * by - ay * bx + az * bw
    out[..., 3] = aw * bw - ax * bx - ay * by - az * bz
    return out


def _cross(a: FloatArray, b: FloatArray) -> FloatArray:
    out = np.empty(np.broadcast_shapes(a.shape, b.shape))
    out[..., 0] = a[..., 1] * b[..., 2] - a[..., 2] * b[..., 1]
    out[..., 1] = a[..., 2] * b[..., 0] - a[..., 0] * b[..., 2]
    out[..., 2] = a[..., 0] * b[..., 1] - a[..., 1] * b[..., 0]
    return out


def qconj(q: FloatArray) -> FloatArray:
    """Inverse of unit quaternion(s)."""
    return np.asarray(q * np.array([-1.0, -1.0, -1.0, 1.0]), dtype=float)


def qfrom_rotvec(rv: FloatArray) -> FloatArray:
    """Unit quaternion(s) from rotation vector(s) in radians, shape (..., 3) -> (..., 4)."""
    rv = np.asarray(rv, dtype=float)
    angle = np.linalg.norm(rv, axis=-1, keepdims=True)
    small = angle < 1e-6
    safe = np.where(small, 1.0, angle)
    k = np.where(small, 0.5 - angle * angle / 48.0, np.sin(0.5 * angle) / safe)
    return np.concatenate([rv * k, np.cos(0.5 * angle)], axis=-1)


def qto_rotvec(q: FloatArray) -> FloatArray:
    """Rotation vector(s) in radians (angle in [0, pi]) from unit quaternion(s)."""
    q = np.where(q[..., 3:4] < 0, -q, q)
    v = q[..., :3]
    s = np.linalg.norm(v, axis=-1, keepdims=True)
    angle = 2.0 * np.arctan2(s, q[..., 3:4])
    small = s < 1e-9
    k = np.where(small, 2.0, angle / np.where(small, 1.0, s))
    return np.asarray(v * k, dtype=float)


def qapply(q: FloatArray, v: FloatArray) -> FloatArray:
    """Rotate vector(s) ``v`` (..., 3) by quaternion(s) ``q`` (..., 4)."""
    u = q[..., :3]
    w = q[..., 3:4]
    t = 2.0 * _cross(u, v)
    return np.asarray(v + w * t + _cross(u, t), dtype=float)


def qslerp(a: FloatArray, b: FloatArray, s: FloatArray) -> FloatArray:
    """Spherical interpolation from single quaternion ``a`` to ``b`` at fractions ``s`` (m,) -> (m, 4)."""
    if float(np.dot(a, b)) < 0.0:
        b = -b
    rel = qto_rotvec(qmul(qconj(a), b))
    return qmul(a, qfrom_rotvec(s[:, None] * rel))


def qyaw(angle_deg: FloatArray | float) -> FloatArray:
    """Quaternion(s) of rotations about world ``z`` by ``angle_deg``."""
    a = np.deg2rad(np.asarray(angle_deg, dtype=float))[..., None]
    zero = np.zeros_like(a)
    return np.concatenate([zero, zero, np.sin(0.5 * a), np.cos(0.5 * a)], axis=-1)


def body_rate_q(q: FloatArray, fs_hz: float) -> FloatArray:
    """Angular velocity (rad/s) in the body frame from orientations ``q`` (n, 4) on a uniform grid.

    Exact for a constant rate between samples; the half-sample values are averaged onto the grid.
    """
    n = q.shape[0]
    if n < 2:
        return np.zeros((n, 3))
    rel = qto_rotvec(qmul(qconj(q[:-1]), q[1:])) * fs_hz
    out = np.empty((n, 3))
    out[1:-1] = 0.5 * (rel[:-1] + rel[1:])
    out[0] = rel[0]
    out[-1] = rel[-1]
    return out
