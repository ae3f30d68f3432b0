"""Step 3: activity (walking, moving, still) and posture (standing, sitting, side-lying, supine).

Mounting invariant by construction:
- walking: impacts (moving std of ``|a|`` above ``walking_dyn_acc_g``) together with a large thigh
  angular speed (above ``walking_speed_dps``), both averaged over 1 s, sustained for
  ``walking_window_s``. Slow exercise reps have little impact acceleration; walking has heel strikes.
- the thigh's long axis ``thigh_axis`` in the sensor frame is the mean gravity direction while walking (the
  thigh swings symmetrically about vertical), and the mediolateral axis is the principal gyro axis while
  walking (flexion/extension). Without enough walking (``min_walking_for_reference_s``) both are unknown and
  posture is ``unknown``.
- posture from the thigh tilt (angle between gravity and the thigh axis): < 35 deg standing; > 115 deg
  supine (knee above hip, as in a bridge); in between, side-lying if the mediolateral axis is within 45 deg
  of vertical, else sitting (a supine person with straight legs also lands here: a thigh sensor cannot tell).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy import ndimage

from processing.filters import FloatArray, moving_mean, runs
from processing.orientation import Motion, principal_axis
from processing.params import AnalysisParams


class Activity(enum.IntEnum):
    """Per-sample activity code."""

    STILL = 0
    MOVING = 1
    WALKING = 2


class Posture(enum.StrEnum):
    """Posture of a still or exercising period (from the thigh only)."""

    STANDING = "standing"
    SITTING = "sitting"
    SIDE_LYING = "side_lying"
    SUPINE = "supine"
    UNKNOWN = "unknown"


@dataclass(frozen=True, slots=True, kw_only=True)
class ActivityResult:
    """Per-sample activity plus the thigh reference axes.

    Attributes:
        activity: (n,) int8 codes of :class:`Activity`.
        thigh_axis: (3,) unit thigh long axis (knee to hip) in the sensor frame, or None.
        mediolateral_axis: (3,) unit flexion axis in the sensor frame (sign arbitrary), or None.
        lateral_axis: (3,) unit outward direction of the thigh in the sensor frame (signed), or None
            (needs walking, quiet standing next to it and the leg's side: :func:`lateral_axis`).
    """

    activity: npt.NDArray[np.int8]
    thigh_axis: FloatArray | None
    mediolateral_axis: FloatArray | None
    lateral_axis: FloatArray | None = None

    @property
    def walking(self) -> npt.NDArray[np.bool_]:
        return np.asarray(self.activity == Activity.WALKING)


def _angle_deg(a: FloatArray, b: FloatArray) -> float:
    c = float(np.dot(a, b) / max(float(np.linalg.norm(a) * np.linalg.norm(b)), 1e-12))
    return float(np.degrees(np.arccos(np.clip(c, -1.0, 1.0))))


def moving_threshold_dps(smooth_speed_dps: FloatArray, params: AnalysisParams) -> float:
    """Angular speed (deg/s) above which the thigh counts as moving: ``moving_noise_factor`` times the
    recording's own noise floor (the 5th percentile of the 0.5-s smoothed speed: every recording has some
    still moments), kept between ``moving_speed_floor_dps`` and ``moving_speed_dps``. A quiet sensor then
    sees slow small reps (7 deg in 2 s peaks near 5 deg/s) that a fixed 6 deg/s would miss."""
    if smooth_speed_dps.size == 0:
        return params.moving_speed_dps
    noise = float(np.percentile(smooth_speed_dps, 5.0))
    return float(
        np.clip(params.moving_noise_factor * noise, params.moving_speed_floor_dps, params.moving_speed_dps)
    )


def _walking(motion: Motion, fs_hz: float, p: AnalysisParams) -> npt.NDArray[np.bool_]:
    """3a: impacts and a large thigh speed, both averaged over 1 s, sustained for ``walking_window_s``."""
    w = max(3, round(fs_hz))
    dyn = moving_mean(motion.dyn_acc_g, w)
    spd = moving_mean(motion.speed_dps, w)
    # the gravity-derived speed of an accelerometer-only sensor reads about half the gyro's during walking
    speed_thr = p.walking_speed_dps if motion.gyro_dps is not None else 0.5 * p.walking_speed_dps
    raw = (dyn > p.walking_dyn_acc_g) & (spd > speed_thr)
    # walking is sustained: fill sub-second dropouts, then keep only runs of at least walking_window_s
    raw = ndimage.binary_closing(raw, structure=np.ones(w, dtype=bool))
    long_runs = [(a, b) for a, b in runs(raw) if b - a >= p.walking_window_s * fs_hz]
    walking = np.zeros(raw.shape[0], dtype=bool)
    for a, b in _like_the_longest(motion, long_runs, p):
        walking[a:b] = True
    return walking


def _swing(motion: Motion, a: int, b: int) -> tuple[FloatArray, FloatArray]:
    """Mean gravity (unit) and swing axis (unit, sign arbitrary) of samples ``[a, b)``."""
    g = motion.gravity[a:b]
    mean = g.mean(axis=0)
    mean = mean / max(float(np.linalg.norm(mean)), 1e-9)
    if motion.gyro_dps is not None:
        return mean, principal_axis(motion.gyro_dps[a:b])
    centred = g - mean
    _, vecs = np.linalg.eigh(centred.T @ centred)
    axis = np.cross(mean, vecs[:, -1])
    return mean, axis / max(float(np.linalg.norm(axis)), 1e-9)


def _like_the_longest(
    motion: Motion, candidates: list[tuple[int, int]], p: AnalysisParams
) -> list[tuple[int, int]]:
    """3a': candidate walking runs that swing like the longest one: the same posture (mean gravity within
    ``walking_posture_deg``) and, with a gyro, about the same axis (within 45 deg). Brisk reps of a large
    range are as fast and jolting as steps, but lying down (clams) or about the front-back axis (standing
    abduction). Without a gyro the swing axis from gravity is blurred by the impacts and is not compared."""
    if len(candidates) < 2:
        return candidates
    ref_g, ref_axis = _swing(motion, *max(candidates, key=lambda r: r[1] - r[0]))
    cos_posture = np.cos(np.radians(p.walking_posture_deg))
    out = []
    for a, b in candidates:
        g, axis = _swing(motion, a, b)
        same_axis = motion.gyro_dps is None or abs(float(axis @ ref_axis)) >= np.cos(np.radians(45.0))
        if float(g @ ref_g) >= cos_posture and same_axis:
            out.append((a, b))
    return out


def _thigh_axes(motion: Motion, walking: npt.NDArray[np.bool_]) -> tuple[FloatArray, FloatArray, float]:
    """3b: the thigh axis (mean gravity while walking), the mediolateral axis (principal gyro axis while
    walking; without a gyro the normal of gravity's swing) and the spread of the tilt while walking (deg)."""
    g = motion.gravity[walking]
    thigh = g.mean(axis=0)
    thigh = thigh / max(float(np.linalg.norm(thigh)), 1e-9)
    spread = float(np.std(np.degrees(np.arccos(np.clip(g @ thigh, -1.0, 1.0)))))
    if motion.gyro_dps is not None:
        ml = principal_axis(motion.gyro_dps[walking])
    else:
        # the swing turns gravity fore-aft; impacts act along the thigh, so take them out first
        centred = g - g.mean(axis=0)
        centred = centred - np.outer(centred @ thigh, thigh)
        _, vecs = np.linalg.eigh(centred.T @ centred)
        ml = np.cross(thigh, vecs[:, -1])
        ml = ml / max(float(np.linalg.norm(ml)), 1e-9)
    return thigh, ml, spread


def lateral_axis(
    gravity: FloatArray,
    activity: npt.NDArray[np.int8],
    thigh_axis: FloatArray,
    side: str | None,
    fs_hz: float,
    params: AnalysisParams,
) -> tuple[FloatArray | None, FloatArray | None, float | None]:
    """3c: the thigh's outward (lateral) direction in the sensor frame (signed), its long axis in quiet
    standing (knee to hip), and the mean hip flexion while walking they rest on (deg); None where there is
    no standing still next to walking, and no lateral direction without the leg's ``side``.

    People walk with the hip flexed on average (gait swings the thigh from ~30 deg of flexion to ~10 deg of
    extension): the mean gravity while walking leans, against the gravity of quiet standing just before or
    after walking (``lateral_standing_s``), towards the thigh's front ``a``. With the thigh's long axis
    ``f`` (knee to hip), ``a x f`` points to the right; that is lateral for a right leg and medial for a
    left one. Mounting invariant (no sensor axis is used); the side comes from the sensors file.
    """
    walking = activity == Activity.WALKING
    near = np.zeros_like(walking)
    k = round(params.lateral_standing_s * fs_hz)
    for a, b in runs(walking):
        near[max(0, a - k) : a] = True
        near[b : b + k] = True
    standing = near & (activity == Activity.STILL) & (gravity @ thigh_axis > np.cos(np.radians(30.0)))
    if standing.sum() < fs_hz:
        return None, None, None
    f = gravity[standing].mean(axis=0)
    f = f / max(float(np.linalg.norm(f)), 1e-9)
    lean = thigh_axis - (thigh_axis @ f) * f
    size = float(np.linalg.norm(lean))
    flexion_deg = float(np.degrees(np.arcsin(min(1.0, size))))
    if flexion_deg < params.min_walking_flexion_deg or side not in ("left", "right"):
        return None, f, flexion_deg
    right = np.cross(lean / size, f)
    return (right if side == "right" else -right), f, flexion_deg


def classify_activity(
    motion: Motion, fs_hz: float, params: AnalysisParams | None = None, *, side: str | None = None
) -> tuple[ActivityResult, dict[str, Any]]:
    """Label every sample still / moving / walking and find the thigh reference axes.

    ``side`` (``left``/``right``, the leg the sensor is on) gives the signed lateral axis
    (:func:`lateral_axis`). Quality keys: ``walking_s``, ``moving_s``, ``still_s`` (seconds of each),
    ``thigh_axis_source`` (``"walking"`` or ``"none"``), ``walking_tilt_spread_deg`` (deg, std of the
    gravity angle to the thigh axis while walking; large values mean the reference is unreliable),
    ``moving_speed_dps`` (deg/s, the threshold used: :func:`moving_threshold_dps`), ``walking_flexion_deg``
    (deg, mean hip flexion while walking against quiet standing, or None), ``lateral_axis_known`` (bool).
    """
    p = params or AnalysisParams()
    walking = _walking(motion, fs_hz, p)
    smooth = moving_mean(motion.speed_dps, max(1, round(0.5 * fs_hz)))
    moving_thr = moving_threshold_dps(smooth, p)
    act = np.zeros(motion.speed_dps.shape[0], dtype=np.int8)
    act[smooth > moving_thr] = Activity.MOVING
    act[walking] = Activity.WALKING

    thigh = ml = lateral = None
    spread = flexion = None
    if walking.sum() >= p.min_walking_for_reference_s * fs_hz:
        thigh, ml, spread = _thigh_axes(motion, walking)
        lateral, standing, flexion = lateral_axis(motion.gravity, act, thigh, side, fs_hz, p)
        # quiet standing is the thigh's upright (walking leans it forward by the mean flexion), and the
        # lateral axis is a better mediolateral axis than the swing's (impacts blur the swing without a gyro)
        thigh = thigh if standing is None else standing
        ml = ml if lateral is None else lateral
    quality: dict[str, Any] = {
        "walking_s": round(float(walking.sum() / fs_hz), 2),
        "moving_s": round(float((act == Activity.MOVING).sum() / fs_hz), 2),
        "still_s": round(float((act == Activity.STILL).sum() / fs_hz), 2),
        "thigh_axis_source": "walking" if thigh is not None else "none",
        "walking_tilt_spread_deg": None if spread is None else round(spread, 2),
        "moving_speed_dps": round(moving_thr, 2),
        "walking_flexion_deg": None if flexion is None else round(flexion, 1),
        "lateral_axis_known": lateral is not None,
    }
    result = ActivityResult(activity=act, thigh_axis=thigh, mediolateral_axis=ml, lateral_axis=lateral)
    return result, quality


def classify_posture(
    gravity: FloatArray,
    thigh_axis: FloatArray | None,
    mediolateral_axis: FloatArray | None,
) -> tuple[Posture, dict[str, Any]]:
    """Posture from one gravity direction (3,) (e.g. the rest position of a set) and the thigh axes.

    Quality keys: ``thigh_tilt_deg`` (deg between gravity and the thigh axis; 0 upright, 90 horizontal,
    >90 knee above hip), ``mediolateral_vertical_deg`` (deg between gravity and the mediolateral axis,
    folded to 0-90).
    """
    if thigh_axis is None:
        return Posture.UNKNOWN, {"thigh_tilt_deg": None, "mediolateral_vertical_deg": None}
    tilt = _angle_deg(gravity, thigh_axis)
    ml_vert = None
    if mediolateral_axis is not None:
        ml_vert = _angle_deg(gravity, mediolateral_axis)
        ml_vert = min(ml_vert, 180.0 - ml_vert)
    q: dict[str, Any] = {
        "thigh_tilt_deg": round(tilt, 1),
        "mediolateral_vertical_deg": None if ml_vert is None else round(ml_vert, 1),
    }
    if tilt < 35.0:
        return Posture.STANDING, q
    if tilt > 115.0:
        return Posture.SUPINE, q
    if 55.0 <= tilt <= 125.0 and ml_vert is not None:
        return (Posture.SIDE_LYING if ml_vert < 45.0 else Posture.SITTING), q
    return Posture.UNKNOWN, q
