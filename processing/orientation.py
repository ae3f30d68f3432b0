"""Step 2: gravity direction, gyroscope bias, angular speed and the per-window rotation angle.

Everything here is mounting invariant: it uses the gravity direction and the rotation axis in the sensor
frame, never a fixed sensor axis, so any rotation of the sensor in the strap and either leg give the same
angles.

- Gravity: the accelerometer low-passed at ``gravity_lowpass_hz`` and normalised (the hip exercises are
  slow, so linear acceleration is small against 1 g).
- Gyro bias: median gyro over still samples (``|a|`` steady and gravity direction steady).
- Angular speed ``speed_dps``: ``|gyro - bias|`` (low-passed at ``speed_lowpass_hz``); without a gyroscope,
  the rate of change of the gravity direction (blind to rotation about the vertical).
- Rotation angle of a window (:func:`rotation_angle`): the principal rotation axis ``n`` (first eigenvector
  of sum(w w^T) of the gyro; without gyro, the axis normal to gravity's path), the gyro rate about ``n``
  integrated, fused with the accelerometer angle of gravity about ``n`` by a complementary filter
  (accelerometer below ``complementary_cutoff_hz``, gyro above). When ``n`` is near vertical (seated
  abduction) gravity carries no angle and the detrended gyro integral is used alone.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from processing.clean import CleanSignal
from processing.filters import FloatArray, lowpass, moving_std
from processing.params import AnalysisParams

# Below this projected gravity magnitude (|g| minus its component along the axis, in g) the axis is
# within ~25 deg of vertical and gravity cannot measure the rotation.
_MIN_PROJECTED_GRAVITY = 0.42


@dataclass(frozen=True, slots=True, kw_only=True)
class Motion:
    """Session-wide orientation signals on the clean grid.

    Attributes:
        gravity: (n, 3) unit gravity direction (specific-force "up"), sensor frame.
        gyro_dps: (n, 3) bias-corrected, low-passed angular rate in deg/s, or None.
        speed_dps: (n,) angular speed in deg/s (see module docstring).
        dyn_acc_g: (n,) moving std of |a| over ``activity_window_s`` in g (impacts, locomotion).
        valid: (n,) False inside data gaps (values there are interpolated).
        gravity_fast: (n, 3) unit gravity low-passed at ``phase_gravity_lowpass_hz`` instead: the rep angle of
            an accelerometer-only sensor, whose phase times the slower gravity would smear; None with a gyro.
    """

    gravity: FloatArray
    gyro_dps: FloatArray | None
    speed_dps: FloatArray
    dyn_acc_g: FloatArray
    valid: npt.NDArray[np.bool_]
    gravity_fast: FloatArray | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class AngleTrace:
    """Rotation of one window about its principal axis.

    Attributes:
        axis: (3,) unit rotation axis, sensor frame (sign arbitrary but consistent with ``angle_deg``).
        angle_deg: (m,) rotation angle in degrees about ``axis`` (offset arbitrary).
        speed_dps: (m,) signed angular speed about ``axis`` in deg/s.
        source: ``"fused"``, ``"gyro"`` or ``"accel"``.
        phase_speed_dps: (m,) a less smoothed signed speed for phase times (accelerometer only), or None
            (then ``speed_dps`` times the phases too).
    """

    axis: FloatArray
    angle_deg: FloatArray
    speed_dps: FloatArray
    source: str
    phase_speed_dps: FloatArray | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Pose:
    """Where the thigh points over time (mounting invariant): how far it turned between two samples.

    Attributes:
        gravity: (n, 3) unit gravity direction in the sensor frame.
        turned_deg: (n, 3) integrated bias-corrected gyro (deg), or None without a gyroscope. Its change
            between two samples is the rotation between them (exact for a turn about one axis, as a rep).
    """

    gravity: FloatArray
    turned_deg: FloatArray | None

    def turn_deg(self, i: npt.NDArray[np.intp], j: npt.NDArray[np.intp]) -> FloatArray:
        """(k,) angle (deg) the thigh turned between samples ``i`` and ``j`` (pairwise), the larger of the
        gravity angle and, with a gyro, the turned angle (gravity alone misses turns about the vertical)."""
        cos = np.clip(np.einsum("ij,ij->i", self.gravity[i], self.gravity[j]), -1.0, 1.0)
        d = np.degrees(np.arccos(cos))
        if self.turned_deg is not None:
            d = np.maximum(d, np.linalg.norm(self.turned_deg[j] - self.turned_deg[i], axis=1))
        return np.asarray(d, dtype=np.float64)

    @classmethod
    def of(cls, motion: Motion, fs_hz: float) -> Pose:
        """The pose of a recording's motion (the gyro integrated once for the whole recording)."""
        turned = None if motion.gyro_dps is None else np.cumsum(motion.gyro_dps, axis=0) / fs_hz
        return cls(gravity=motion.gravity, turned_deg=turned)


def _unit(v: FloatArray) -> FloatArray:
    norm = np.linalg.norm(v, axis=-1, keepdims=True)
    return np.asarray(v / np.maximum(norm, 1e-9), dtype=np.float64)


def estimate_motion(
    clean: CleanSignal, params: AnalysisParams | None = None
) -> tuple[Motion, dict[str, Any]]:
    """Gravity direction, gyro bias, angular speed and dynamic acceleration for the whole recording.

    Quality keys: ``gyro_bias_dps`` (list of 3, deg/s, sensor frame), ``still_fraction`` (0-1, share of
    samples used for the bias), ``has_gyro`` (bool), ``accel_norm_median_g`` (g; about 1 for a correctly
    scaled accelerometer).
    """
    p = params or AnalysisParams()
    fs = clean.fs_hz
    acc_lp = lowpass(clean.accel_g, p.gravity_lowpass_hz, fs)
    gravity = _unit(acc_lp)
    norm = np.linalg.norm(clean.accel_g, axis=1)
    width = max(3, round(p.activity_window_s * fs))
    dyn = moving_std(norm, width)

    # Rate of change of the gravity direction (deg/s), a gyro-free angular speed.
    g_fast = _unit(lowpass(clean.accel_g, 2.0, fs))
    dots = np.clip(np.einsum("ij,ij->i", g_fast[1:], g_fast[:-1]), -1.0, 1.0)
    grav_speed = np.degrees(np.arccos(dots)) * fs
    grav_speed = np.concatenate((grav_speed[:1], grav_speed)) if grav_speed.size else np.zeros(1)
    grav_speed = lowpass(grav_speed, p.speed_lowpass_hz / 2, fs)

    still = (dyn < 0.015) & (grav_speed < 3.0)
    bias = np.zeros(3)
    gyro = None
    if clean.gyro_dps is not None:
        if still.sum() >= 2 * fs:
            bias = np.median(clean.gyro_dps[still], axis=0)
        gyro = lowpass(clean.gyro_dps - bias, p.speed_lowpass_hz, fs)
        speed = np.linalg.norm(gyro, axis=1)
    else:
        speed = np.abs(grav_speed)

    quality: dict[str, Any] = {
        "gyro_bias_dps": [round(float(b), 3) for b in bias],
        "still_fraction": round(float(still.mean()), 4) if still.size else 0.0,
        "has_gyro": clean.gyro_dps is not None,
        "accel_norm_median_g": round(float(np.median(norm)), 4),
    }
    motion = Motion(
        gravity=gravity,
        gyro_dps=gyro,
        speed_dps=speed,
        dyn_acc_g=dyn,
        valid=clean.valid,
        gravity_fast=None
        if gyro is not None
        else _unit(lowpass(clean.accel_g, p.phase_gravity_lowpass_hz, fs)),
    )
    return motion, quality


def principal_axis(vectors: FloatArray, weights: FloatArray | None = None, rank: int = 0) -> FloatArray:
    """Eigenvector of sum(w v v^T) with the ``rank``-th largest eigenvalue (0: the dominant rotation axis
    of angular-rate vectors); sign chosen so the largest component is positive."""
    v = vectors if weights is None else vectors * np.sqrt(weights)[:, None]
    m = v.T @ v
    _, vecs = np.linalg.eigh(m)
    axis = vecs[:, -1 - rank]
    # Deterministic sign: largest component positive (the caller fixes polarity from the movement).
    return np.asarray(axis if axis[np.argmax(np.abs(axis))] > 0 else -axis, dtype=np.float64)


def gravity_path_axis(gravity: FloatArray) -> FloatArray:
    """Axis normal to the path gravity travels in a window (assumes rotation about a horizontal axis)."""
    mean_g = _unit(gravity.mean(axis=0))
    centred = gravity - gravity.mean(axis=0)
    _, vecs = np.linalg.eigh(centred.T @ centred)
    change = vecs[:, -1]
    axis = np.cross(mean_g, change)
    axis = axis / max(float(np.linalg.norm(axis)), 1e-9)
    return np.asarray(axis if axis[np.argmax(np.abs(axis))] > 0 else -axis, dtype=np.float64)


def gravity_rate_axis(gravity: FloatArray, fs_hz: float, rank: int = 0) -> FloatArray:
    """Rotation axis seen by gravity alone: the principal axis (``rank`` 0, or the second, 1) of
    ``g x dg/dt`` (the part of the angular rate perpendicular to gravity), each sample weighted by the angle
    it turns, as the gyro's (:func:`rotation_angle`): the reps' many degrees outweigh one posture change in
    the window. Falls back to :func:`gravity_path_axis` when gravity hardly moves."""
    rate = np.cross(gravity, np.gradient(gravity, axis=0) * fs_hz)
    mag = np.linalg.norm(rate, axis=1)
    if float(np.sum(mag)) / fs_hz < np.radians(1.0):
        return gravity_path_axis(gravity)
    return principal_axis(rate, weights=1.0 / np.maximum(mag, 1e-9), rank=rank)


def _gravity_angle(gravity: FloatArray, axis: FloatArray) -> tuple[FloatArray, float]:
    """Angle (deg) of the sensor about ``axis`` measured from gravity, and the projected gravity size (g).

    A rotation of the sensor by +a about ``axis`` turns the (fixed) gravity by -a in the sensor frame, hence
    the minus sign.
    """
    proj = gravity - np.outer(gravity @ axis, axis)
    strength = float(np.median(np.linalg.norm(proj, axis=1)))
    ref = proj.mean(axis=0)
    if np.linalg.norm(ref) < 1e-6:
        ref = proj[0]
    e1 = ref / max(float(np.linalg.norm(ref)), 1e-9)
    # np.cross(axis, e1) written out (same products and differences; np.cross costs more than the window)
    e2 = np.array(
        (
            axis[1] * e1[2] - axis[2] * e1[1],
            axis[2] * e1[0] - axis[0] * e1[2],
            axis[0] * e1[1] - axis[1] * e1[0],
        )
    )
    ang = np.unwrap(np.arctan2(proj @ e2, proj @ e1))
    return np.asarray(-np.degrees(ang), dtype=np.float64), strength


def rotation_angle(
    motion: Motion,
    start: int,
    stop: int,
    fs_hz: float,
    params: AnalysisParams | None = None,
    *,
    axis_rank: int = 0,
) -> AngleTrace:
    """Rotation angle and signed angular speed of samples ``[start, stop)`` about their principal axis.

    ``axis_rank`` 1 uses the second principal axis instead, 2 the principal axis of the unit rate vectors
    of moving samples (without a gyro: the normal of gravity's path): when a window also holds larger
    movements about another axis (sitting down, standing up), the reps may be the second component, or
    dominate only by duration.
    """
    p = params or AnalysisParams()
    grav = motion.gravity[start:stop]
    if motion.gyro_dps is not None:
        w = motion.gyro_dps[start:stop]
        if axis_rank == 2:
            # every moving sample counts the same, whatever its speed: long sets of reps outweigh short,
            # fast posture changes (sitting down, standing up) in the same window
            mag = np.linalg.norm(w, axis=1)
            moving = mag > p.moving_speed_dps
            axis = principal_axis(w[moving] / mag[moving, None]) if moving.sum() >= 3 else principal_axis(w)
        elif axis_rank == 0:
            # each sample weighs by the angle it turns (|w|), not by its energy (|w|^2): the reps' many
            # degrees outweigh one fast posture change caught in the same window
            mag = np.linalg.norm(w, axis=1)
            axis = principal_axis(w, weights=1.0 / np.maximum(mag, 1e-6))
        else:
            axis = principal_axis(w, rank=axis_rank)
        speed = w @ axis
        ang_g = np.cumsum(speed) / fs_hz
        ang_a, strength = _gravity_angle(grav, axis)
        if strength >= _MIN_PROJECTED_GRAVITY:
            # the two angle estimates must turn the same way (guards the sign convention)
            d_a = np.gradient(ang_a) * fs_hz
            if float(np.dot(d_a, speed)) < 0:
                ang_a, d_a = -ang_a, -d_a
            gap = ~motion.valid[start:stop]
            if gap.any():
                # inside a data gap the interpolated gyro is meaningless; follow gravity's (linear) path
                speed = np.where(gap, d_a, speed)
                ang_g = np.cumsum(speed) / fs_hz
            fc = p.complementary_cutoff_hz
            # both angles through one filter call (columns are filtered independently: same values)
            low = lowpass(np.column_stack((ang_a, ang_g)), fc, fs_hz)
            fused = low[:, 0] + (ang_g - low[:, 1])
            return AngleTrace(axis=axis, angle_deg=fused, speed_dps=speed, source="fused")
        gap = ~motion.valid[start:stop]
        if gap.any():
            # about the vertical nothing measures the turn inside a data gap: hold the angle there (the
            # interpolated rates could integrate to any angle and shift everything after the gap)
            speed = np.where(gap, 0.0, speed)
            ang_g = np.cumsum(speed) / fs_hz
        t = np.arange(ang_g.size, dtype=np.float64)
        coef = np.polyfit(t, ang_g, 1) if ang_g.size > 2 else np.zeros(2)
        return AngleTrace(axis=axis, angle_deg=ang_g - np.polyval(coef, t), speed_dps=speed, source="gyro")
    # without a gyro: rank 0 and 1 from gravity's turning rate, rank 2 the normal of gravity's path
    axis = gravity_path_axis(grav) if axis_rank == 2 else gravity_rate_axis(grav, fs_hz, rank=axis_rank)
    ang_a, _ = _gravity_angle(grav, axis)
    ang = lowpass(ang_a, p.speed_lowpass_hz / 2, fs_hz)
    phase_speed = None
    if motion.gravity_fast is not None:
        # phase times from the less smoothed gravity (the slow one smears onsets by a few hundred ms); the
        # excursions and ranges from the slow one, which linear acceleration and noise disturb less
        fast, _ = _gravity_angle(motion.gravity_fast[start:stop], axis)
        phase_speed = np.gradient(fast) * fs_hz
        if float(np.dot(phase_speed, np.gradient(ang))) < 0:
            phase_speed = -phase_speed
    speed = np.gradient(ang) * fs_hz
    return AngleTrace(axis=axis, angle_deg=ang, speed_dps=speed, source="accel", phase_speed_dps=phase_speed)
