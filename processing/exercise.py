"""Step 6: exercise recognition among the five exercises, or ``unknown``.

Only mounting-invariant geometry is used: the rep's rotation axis ``n``, gravity at the bottom of the reps
``g0`` (both in the sensor frame, whatever the strap rotation) and, when the session contains walking, the
thigh long axis ``u`` (see :mod:`processing.activity`).

Decision (domain geometry from ../shared/reference/training.md):
1. gyro present and ``n`` within ``seated_axis_vertical_deg`` of vertical: the knees push outward about the
   vertical axis -> ``banded_abduction_seated``. Without a gyroscope this movement barely changes gravity:
   it cannot be recognised (and usually not even seen), so the answer is ``unknown`` and the quality says so.
2. without ``u`` the posture is unknown -> ``unknown`` (no guessing).
3. thigh tilt (angle ``g0``-``u``) below ``standing_tilt_max_deg`` -> ``banded_abduction_standing``;
   above ``bridge_tilt_min_deg`` (knee above hip, supine) -> ``single_leg_glute_bridge``.
4. thigh about horizontal, side-lying: rotation axis oblique to the thigh (angle ``n``-``u`` below
   ``clam_axis_thigh_max_deg``; the clam turns about the hip-to-feet line, ~45 deg from the femur) ->
   ``clamshell``; axis about perpendicular to the femur (abduction) -> ``side_lying_leg_raise``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from processing.filters import FloatArray
from processing.params import AnalysisParams
from processing.records import Exercise


def _fold_deg(a: FloatArray, b: FloatArray) -> float:
    """Angle between two lines (sign-free), 0-90 deg."""
    c = abs(float(np.dot(a, b))) / max(float(np.linalg.norm(a) * np.linalg.norm(b)), 1e-12)
    return float(np.degrees(np.arccos(min(c, 1.0))))


def recognise_exercise(
    *,
    axis: FloatArray,
    rest_gravity: FloatArray,
    thigh_axis: FloatArray | None,
    has_gyro: bool,
    mediolateral_axis: FloatArray | None = None,
    params: AnalysisParams | None = None,
) -> tuple[Exercise, dict[str, Any]]:
    """Name the exercise of one set.

    Args:
        axis: (3,) rotation axis of the reps, sensor frame.
        rest_gravity: (3,) unit gravity direction at the bottom of the reps, sensor frame.
        thigh_axis: (3,) unit thigh long axis (knee to hip), sensor frame, or None when unknown.
        has_gyro: whether ``axis`` comes from a gyroscope.
        mediolateral_axis: (3,) flexion axis of the thigh, sensor frame, or None; when known and horizontal
            with a horizontal thigh, the person sits (seated abduction).

    Quality keys: ``axis_vertical_deg`` (deg between the rotation axis and vertical, 0-90),
    ``thigh_tilt_deg`` (deg between gravity at rest and the thigh axis), ``axis_thigh_deg`` (deg between
    rotation axis and thigh axis, 0-90), ``reason`` (short text).
    """
    p = params or AnalysisParams()
    axis_vert = _fold_deg(axis, rest_gravity)
    q: dict[str, Any] = {
        "axis_vertical_deg": round(axis_vert, 1),
        "thigh_tilt_deg": None,
        "axis_thigh_deg": None,
    }
    if has_gyro and axis_vert < p.seated_axis_vertical_deg:
        q["reason"] = "rotation about the vertical axis"
        return Exercise.BANDED_ABDUCTION_SEATED, q
    if thigh_axis is None:
        q["reason"] = "thigh axis unknown (no walking in the recording): posture cannot be told"
        return Exercise.UNKNOWN, q
    c = float(np.dot(rest_gravity, thigh_axis))
    tilt = float(np.degrees(np.arccos(np.clip(c, -1.0, 1.0))))
    axis_thigh = _fold_deg(axis, thigh_axis)
    q["thigh_tilt_deg"] = round(tilt, 1)
    q["axis_thigh_deg"] = round(axis_thigh, 1)
    if tilt < p.standing_tilt_max_deg:
        q["reason"] = "thigh upright at rest"
        return Exercise.BANDED_ABDUCTION_STANDING, q
    if tilt > p.bridge_tilt_min_deg:
        q["reason"] = "knee above hip at rest (supine)"
        return Exercise.SINGLE_LEG_GLUTE_BRIDGE, q
    # the accelerometer-only mediolateral axis (from the walking swing) is rougher: demand more margin
    ml_limit = 45.0 if has_gyro else 65.0
    sitting = mediolateral_axis is not None and _fold_deg(mediolateral_axis, rest_gravity) > ml_limit
    if sitting:
        if has_gyro:
            q["reason"] = "seated (thigh horizontal, mediolateral axis horizontal)"
            return Exercise.BANDED_ABDUCTION_SEATED, q
        q["reason"] = "accelerometer only while seated: seated abduction cannot be measured without a gyro"
        return Exercise.UNKNOWN, q
    if axis_thigh < p.clam_axis_thigh_max_deg:
        q["reason"] = "thigh horizontal, rotation axis oblique to the femur"
        return Exercise.CLAMSHELL, q
    q["reason"] = "thigh horizontal, rotation axis across the femur"
    return Exercise.SIDE_LYING_LEG_RAISE, q
