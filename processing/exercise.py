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

Without walking (``u`` unknown) and with a gyroscope, step 2 is replaced by :func:`recognise_by_skin_normal`:
the sensor lies flat on the lateral thigh, so its ``z`` axis (out of the device face) is the thigh's
mediolateral axis ``m`` whatever the strap rotation about it, the leg, or a face-in pocket (sign only).
In the thigh frame (femur ``f``, mediolateral ``m``, anteroposterior ``a``) the five exercises are:

=============================  =================  ===========================
exercise                       gravity at rest    rotation axis ``n``
=============================  =================  ===========================
standing abduction             ``f`` (in skin)    ``a`` (in skin)
side-lying leg raise           ``m`` (normal)     ``a`` (in skin, perp. to f)
clamshell                      ``m`` (normal)     ``f``-``a`` mix, ~45 deg
seated abduction               ``a``              ``a`` (parallel to gravity)
glute bridge                   ``f``-``a`` mix    ``m`` (normal)
=============================  =================  ===========================

Clamshell and leg raise differ only in where the femur lies in the skin plane: they need an upright
reference ``r``, the gravity of a still period with gravity in the skin plane (standing: ``r = f``;
sitting: ``r = a``). The clam axis is ~45 deg from both ``f`` and ``a``; the leg-raise axis is ``a``
(0 deg from a seated reference, 90 deg from a standing one). See :func:`upright_reference`. A bridge must
also rest oblique to the reference (the supine thigh is ~50 deg up); a rest along or across it is an
abduction seen by a sensor on the front of the thigh, and is reported ``unknown``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from hipsync.records import Exercise
from processing.filters import FloatArray
from processing.params import AnalysisParams


def _fold_deg(a: FloatArray, b: FloatArray) -> float:
    """Angle between two lines (sign-free), 0-90 deg."""
    c = abs(float(np.dot(a, b))) / max(float(np.linalg.norm(a) * np.linalg.norm(b)), 1e-12)
    return float(np.degrees(np.arccos(min(c, 1.0))))


SKIN_NORMAL = np.array([0.0, 0.0, 1.0])
"""Sensor-frame direction out of the device face: the thigh's mediolateral axis when worn laterally."""


def upright_reference(
    gravity: FloatArray, still: npt.NDArray[np.bool_], fs_hz: float, params: AnalysisParams | None = None
) -> tuple[FloatArray | None, dict[str, Any]]:
    """Gravity of the still periods (>= ``min_reference_still_s``) with gravity in the skin plane.

    Args:
        gravity: (n, 3) unit gravity direction, sensor frame.
        still: (n,) True where the thigh is still.
        fs_hz: sample rate of both.

    Gravity at least ``skin_upright_min_deg`` from :data:`SKIN_NORMAL` means the thigh's lateral face is
    vertical: standing (gravity along the femur), sitting (along the anteroposterior axis) or supine.
    Returns (k, 3) unit vectors in time order (the first is preferred: people strap the sensor on before
    they lie down) or None. Quality keys: ``reference_start_s`` (s from the first sample, first period),
    ``reference_skin_deg`` (deg between the first reference and the skin normal), ``references`` (count).
    """
    p = params or AnalysisParams()
    k = max(1, round(p.min_reference_still_s * fs_hz))
    q: dict[str, Any] = {"reference_start_s": None, "reference_skin_deg": None, "references": 0}
    out: list[FloatArray] = []
    edges = np.flatnonzero(np.diff(np.concatenate(([0], still.astype(np.int8), [0]))))
    for a, b in zip(edges[::2], edges[1::2], strict=True):
        if b - a < k:
            continue
        g = gravity[a:b].mean(axis=0)
        g = g / max(float(np.linalg.norm(g)), 1e-12)
        skin = _fold_deg(g, SKIN_NORMAL)
        if skin >= p.skin_upright_min_deg:
            if not out:
                q.update({"reference_start_s": round(a / fs_hz, 2), "reference_skin_deg": round(skin, 1)})
            out.append(g)
    q["references"] = len(out)
    return (np.array(out) if out else None), q


def recognise_by_skin_normal(
    *,
    axis: FloatArray,
    rest_gravity: FloatArray,
    reference: FloatArray | None,
    params: AnalysisParams | None = None,
) -> tuple[Exercise, dict[str, Any]]:
    """Name a gyro set's exercise without the thigh axis, from the skin normal (see the module table).

    Quality keys: ``axis_skin_deg`` (deg between ``n`` and the skin normal, 0-90), ``gravity_skin_deg``
    (deg between gravity at rest and the skin normal, 0-90), ``gravity_reference_deg`` (deg between gravity
    at rest and the upright reference, 0-90, None without one), ``axis_reference_deg`` (deg between ``n`` and
    the upright reference, 0-90, None without one), ``reason``.
    """
    p = params or AnalysisParams()
    axis_skin = _fold_deg(axis, SKIN_NORMAL)
    grav_skin = _fold_deg(rest_gravity, SKIN_NORMAL)
    q: dict[str, Any] = {
        "axis_skin_deg": round(axis_skin, 1),
        "gravity_skin_deg": round(grav_skin, 1),
        "axis_reference_deg": None,
    }
    # the first upright reference that is not the set's own rest (a bridge rests with the face vertical)
    refs = [] if reference is None else list(np.atleast_2d(reference))
    others = [r for r in refs if _fold_deg(rest_gravity, r) > p.same_posture_deg]
    reference = others[0] if others else (refs[0] if refs else None)
    grav_ref = None if reference is None else _fold_deg(rest_gravity, reference)
    q["gravity_reference_deg"] = None if grav_ref is None else round(grav_ref, 1)
    lo, hi = p.bridge_gravity_reference_min_deg, p.bridge_gravity_reference_max_deg
    if axis_skin < p.bridge_axis_skin_max_deg and grav_skin >= p.skin_upright_min_deg:
        # the supine thigh rests ~50 deg up: oblique to both upright references (standing f, sitting a); a
        # rest along or across the reference is an abduction seen by a sensor on the front of the thigh
        if grav_ref is None or not lo <= grav_ref <= hi:
            q["reason"] = (
                "rotation about the skin normal, but the rest is not a supine thigh: sensor not lateral?"
            )
            return Exercise.UNKNOWN, q
        q["reason"] = "rotation about the skin normal (flexion) with the lateral face vertical: bridge"
        return Exercise.SINGLE_LEG_GLUTE_BRIDGE, q
    if axis_skin >= p.skin_upright_min_deg and grav_skin >= p.skin_upright_min_deg:
        q["reason"] = "rotation in the skin plane, gravity in the skin plane: standing abduction"
        return Exercise.BANDED_ABDUCTION_STANDING, q
    if axis_skin >= p.skin_upright_min_deg and grav_skin < p.skin_lying_max_deg:
        if reference is None:
            q["reason"] = "side-lying, no upright still period to place the femur: clam or leg raise unknown"
            return Exercise.UNKNOWN, q
        ref = _fold_deg(axis, reference)
        q["axis_reference_deg"] = round(ref, 1)
        if p.clam_axis_reference_min_deg <= ref <= p.clam_axis_reference_max_deg:
            q["reason"] = "side-lying, rotation axis oblique to the upright reference: clamshell"
            return Exercise.CLAMSHELL, q
        m = p.leg_raise_axis_reference_margin_deg
        if ref <= m or ref >= 90.0 - m:
            q["reason"] = "side-lying, rotation axis along or across the upright reference: leg raise"
            return Exercise.SIDE_LYING_LEG_RAISE, q
        q["reason"] = "side-lying, rotation axis between clam and leg-raise geometry"
        return Exercise.UNKNOWN, q
    q["reason"] = "rotation axis and gravity fit no exercise in the skin-normal frame (sensor not lateral?)"
    return Exercise.UNKNOWN, q


def recognise_exercise(
    *,
    axis: FloatArray,
    rest_gravity: FloatArray,
    thigh_axis: FloatArray | None,
    has_gyro: bool,
    mediolateral_axis: FloatArray | None = None,
    reference: FloatArray | None = None,
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
        reference: (3,) or (k, 3) upright reference gravities (:func:`upright_reference`), used without
            ``thigh_axis``; the first one more than ``same_posture_deg`` from ``rest_gravity`` is taken.

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
        if has_gyro:
            exercise, sq = recognise_by_skin_normal(
                axis=axis, rest_gravity=rest_gravity, reference=reference, params=p
            )
            q.update(sq)
            return exercise, q
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
