"""Step 6: exercise recognition: a score for each of the five exercises, then the best one or ``unknown``.

The recogniser compares a set's geometry with each exercise's (../shared/reference/training.md,
``simulate/body.py``). In the thigh frame (femur ``f`` knee to hip, mediolateral ``m``, anteroposterior
``a``), with gravity ``g0`` at the bottom of the reps and the reps' rotation axis ``n``:

=============================  ==============================  =====================================
exercise                       gravity at rest ``g0``          rotation axis ``n``
=============================  ==============================  =====================================
clamshell                      ``m`` (side-lying)              hip-to-feet line, ~45 deg from ``f``, ``a``
side-lying leg raise           ``m`` (side-lying)              ``a`` (abduction)
standing abduction             ``f`` (thigh upright)           ``a``
seated abduction               ``a`` (thigh level)             ``a``, i.e. vertical
single-leg glute bridge        ~40 deg from ``a`` (thigh up)   ``m`` (hip extension)
=============================  ==============================  =====================================

What the sensor shows of that frame decides which features exist (:func:`set_features`):

- with walking in the recording, ``f`` (mean gravity while walking) and ``m`` (the swing's axis) are known
  whatever the mounting: every row above is measured directly;
- without walking, ``m`` is taken to be the sensor's face normal :data:`SKIN_NORMAL` (**assumption: the
  sensor lies flat on the lateral thigh**, face out or in, either leg). Then side-lying (``g0`` along ``m``),
  face vertical (``g0`` across ``m``) and a bridge (``n`` along ``m``) are told apart whatever the strap
  rotation about ``m``. Where ``f`` lies in the face plane is not seen; what is seen is a pair of lines,
  ``f`` and ``a`` (90 deg apart, which is which unknown), from an **upright reference** (a still period with
  the face vertical: standing gives ``f``, sitting or lying supine ``a``) and, with less weight, from the
  **device's edges** (a strap holds a device with one edge along the thigh, at any multiple of 90 deg).
  Against those lines the clam axis is oblique (~45 deg) and every other in-plane axis lies along one
  (0 deg): clamshell vs leg raise; a bridge's rest is oblique and a standing or seated rest along one.
- a gyroscope gives ``n`` directly and shows a rotation about the vertical (seated abduction); without one,
  ``n`` is the normal of gravity's path, horizontal by construction, and a turn about the vertical is
  invisible: seated and standing abduction then differ only by the thigh's tilt (walking) or by how far
  gravity moved (a seated set can move it only by the small tilt of its axis).

Each feature scores each exercise by a Gaussian of its distance to the expected angle (:data:`TEMPLATES`);
the scores multiply, and a range of motion the exercise cannot reach (:data:`MAX_ROM_DEG`) lowers them.
The vote is ``unknown`` only when the best score does not stand out (a tie the data cannot break).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import numpy.typing as npt

from hipsync.records import Exercise, ExerciseVote
from processing.filters import FloatArray
from processing.params import AnalysisParams

CLAM = Exercise.CLAMSHELL
RAISE = Exercise.SIDE_LYING_LEG_RAISE
STANDING = Exercise.BANDED_ABDUCTION_STANDING
SEATED = Exercise.BANDED_ABDUCTION_SEATED
BRIDGE = Exercise.SINGLE_LEG_GLUTE_BRIDGE
FIVE = (CLAM, RAISE, STANDING, SEATED, BRIDGE)

SKIN_NORMAL = np.array([0.0, 0.0, 1.0])
"""Sensor-frame direction out of the device face: the thigh's mediolateral axis when worn laterally."""

DEVICE_EDGES = (np.array([1.0, 0.0, 0.0]), np.array([0.0, 1.0, 0.0]))
"""The device's edges (sensor ``x`` and ``y``): one lies along the thigh when the strap holds it square."""

#: Expected value of each feature for each exercise; missing: the feature says nothing about it.
#: ``*_deg`` between lines are folded to 0-90, ``*_line_deg`` to 0-45 (nearest of the lines ``f``, ``a``),
#: ``thigh_tilt_deg`` is 0-180 (gravity vs knee-to-hip: 0 upright, 90 level, > 90 knee above hip; side-lying,
#: the working leg rests on the other, its knee a little below the hip: ``lying_tilt_tol_deg``);
#: ``lift_per_range`` is the change of that tilt from rest to top over the range: the knee rises in a clam
#: (on a cone about the oblique axis: ~sin 45 deg of the range), a leg raise and a standing abduction, the
#: hips rise in a bridge (the thigh flattens), a seated abduction turns level.
TEMPLATES: dict[str, dict[Exercise, float]] = {
    "gravity_mediolateral_deg": {CLAM: 0.0, RAISE: 0.0, STANDING: 90.0, SEATED: 90.0, BRIDGE: 90.0},
    "axis_mediolateral_deg": {CLAM: 90.0, RAISE: 90.0, STANDING: 90.0, SEATED: 90.0, BRIDGE: 0.0},
    "axis_vertical_deg": {CLAM: 90.0, RAISE: 90.0, STANDING: 90.0, SEATED: 0.0, BRIDGE: 90.0},
    "thigh_tilt_deg": {CLAM: 85.0, RAISE: 85.0, STANDING: 0.0, SEATED: 90.0, BRIDGE: 140.0},
    "axis_thigh_deg": {CLAM: 45.0, RAISE: 80.0, STANDING: 90.0, SEATED: 90.0, BRIDGE: 90.0},
    "lift_per_range": {CLAM: 0.65, RAISE: 1.0, STANDING: 1.0, SEATED: 0.0, BRIDGE: -1.0},
    "axis_line_deg": {CLAM: 45.0, RAISE: 10.0, STANDING: 0.0, SEATED: 0.0},
    "gravity_line_deg": {STANDING: 0.0, SEATED: 0.0},
}

#: What changes without a gyroscope: the axis is the normal of gravity's path. A seated abduction turns
#: about the vertical ``a`` tilted towards ``f`` by the thigh's slope; gravity (along ``a``) then moves
#: towards ``m`` only, about ``f``: the accelerometer sees the femur as its axis.
ACCEL_TEMPLATES: dict[str, dict[Exercise, float]] = {"axis_thigh_deg": {SEATED: 0.0}}

#: Largest range (deg) each exercise can show. Hip abduction reaches ~45 deg (standing, side-lying, seated;
#: plus ~15 deg of pelvic hitch in a leg raise or standing abduction); a bridge lifts the thigh from ~50 deg
#: elevation to a little past level; a clam opens the knee by external rotation and abduction together
#: (the real MEx clams reach ~80 deg).
MAX_ROM_DEG: dict[Exercise, float] = {CLAM: 90.0, RAISE: 65.0, STANDING: 65.0, SEATED: 60.0, BRIDGE: 70.0}

#: Without a gyroscope the angle is gravity's: a seated abduction turns about the vertical and moves gravity
#: only by its axis' tilt (the thigh's slope on the seat): 2 asin(sin 20 deg sin 22.5 deg) = 15 deg for a
#: 20 deg slope and a 45 deg abduction, ~9 deg for 15 and 35 deg. Above the first value, with a sharper
#: fall-off (second value), a range seen by gravity cannot be a seated abduction.
MAX_ACCEL_SEATED_ROM_DEG = (12.0, 3.0)

_TEXT = {
    "gravity_mediolateral_deg": "gravity at rest {:.0f} deg from the thigh's mediolateral axis",
    "axis_mediolateral_deg": "rotation axis {:.0f} deg from the mediolateral axis",
    "axis_vertical_deg": "rotation axis {:.0f} deg from vertical",
    "thigh_tilt_deg": "thigh {:.0f} deg from upright at rest",
    "lift_per_range": "thigh tilt changes by {:+.1f} of the range from rest to top",
    "axis_thigh_deg": "rotation axis {:.0f} deg from the femur",
    "axis_line_deg": "rotation axis {:.0f} deg off the femur's line",
    "gravity_line_deg": "gravity at rest {:.0f} deg off the femur's line",
}


@dataclass(frozen=True, slots=True, kw_only=True)
class SetGeometry:
    """What the recogniser needs to know about one set; vectors are unit, sensor frame.

    ``axis``: rotation axis of the reps (sign free); ``rest_gravity``, ``top_gravity``: gravity (specific
    force, pointing up) at the bottom and the top of the reps (the top may be None); ``rom_deg``: median
    range of the reps; ``has_gyro``: whether ``axis`` and the range come from a gyroscope (else from
    gravity's path). From the whole recording: ``thigh_axis`` (knee to hip) and ``mediolateral_axis`` while
    walking, or None; ``references``: (k, 3) upright reference gravities in time order
    (:func:`upright_reference`), or None.
    """

    axis: FloatArray
    rest_gravity: FloatArray
    rom_deg: float
    has_gyro: bool
    top_gravity: FloatArray | None = None
    thigh_axis: FloatArray | None = None
    mediolateral_axis: FloatArray | None = None
    references: FloatArray | None = None


def _unit(v: FloatArray) -> FloatArray:
    return np.asarray(v / max(float(np.linalg.norm(v)), 1e-12), dtype=np.float64)


def _fold_deg(a: FloatArray, b: FloatArray) -> float:
    """Angle between two lines (sign-free), 0-90 deg."""
    c = abs(float(np.dot(a, b))) / max(float(np.linalg.norm(a) * np.linalg.norm(b)), 1e-12)
    return float(np.degrees(np.arccos(min(c, 1.0))))


def _angle_deg(a: FloatArray, b: FloatArray) -> float:
    """Angle between two directions, 0-180 deg."""
    c = float(np.dot(a, b)) / max(float(np.linalg.norm(a) * np.linalg.norm(b)), 1e-12)
    return float(np.degrees(np.arccos(np.clip(c, -1.0, 1.0))))


def line_offset_deg(
    v: FloatArray, e1: FloatArray, normal: FloatArray, min_off_normal_deg: float
) -> float | None:
    """How far (0-45 deg) ``v``, projected onto the plane normal to ``normal``, lies from the nearer of two
    perpendicular lines in that plane: ``e1`` (projected) and ``normal x e1``. None when ``v`` or ``e1`` is
    closer than ``min_off_normal_deg`` to the normal (its projection is too short to have a direction)."""
    if _fold_deg(v, normal) < min_off_normal_deg or _fold_deg(e1, normal) < min_off_normal_deg:
        return None
    n = _unit(normal)
    u1 = _unit(e1 - float(e1 @ n) * n)
    u2 = np.cross(n, u1)
    phi = math.degrees(math.atan2(abs(float(v @ u2)), abs(float(v @ u1))))
    return min(phi, 90.0 - phi)


SKIN_PLANE_MIN_DEG = 45.0
"""A vector's direction in the face plane counts only when it is at least this far from the face normal."""


def upright_reference(
    gravity: FloatArray, still: npt.NDArray[np.bool_], fs_hz: float, params: AnalysisParams | None = None
) -> tuple[FloatArray | None, dict[str, Any]]:
    """Gravity of the still periods (>= ``min_reference_still_s``) with gravity in the skin plane.

    Args:
        gravity: (n, 3) unit gravity direction, sensor frame.
        still: (n,) True where the thigh is still.
        fs_hz: sample rate of both.

    Gravity at least ``skin_upright_min_deg`` from :data:`SKIN_NORMAL` means the thigh's lateral face is
    vertical: standing (gravity along the femur), sitting or lying supine (along the anteroposterior axis).
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
        g = _unit(gravity[a:b].mean(axis=0))
        skin = _fold_deg(g, SKIN_NORMAL)
        if skin >= p.skin_upright_min_deg:
            if not out:
                q.update({"reference_start_s": round(a / fs_hz, 2), "reference_skin_deg": round(skin, 1)})
            out.append(g)
    q["references"] = len(out)
    return (np.array(out) if out else None), q


def _walking_features(geo: SetGeometry) -> dict[str, float]:
    """Features in the thigh frame seen while walking: the femur always; the mediolateral axis only from the
    gyroscope's swing axis (mounting invariant). Without a gyroscope it is left out: the accelerometer's
    estimate from the swing is too rough (a walk sways sideways as well as fore and aft), and the face
    normal holds only for a lateral sensor, which walking lets us do without: tilt and the axis against the
    femur tell every exercise but seated abduction, which the accelerometer barely sees."""
    assert geo.thigh_axis is not None
    tilt = _angle_deg(geo.rest_gravity, geo.thigh_axis)
    out = {"thigh_tilt_deg": tilt, "axis_thigh_deg": _fold_deg(geo.axis, geo.thigh_axis)}
    if geo.top_gravity is not None and geo.rom_deg > 0:
        out["lift_per_range"] = (_angle_deg(geo.top_gravity, geo.thigh_axis) - tilt) / geo.rom_deg
    if geo.has_gyro and geo.mediolateral_axis is not None:
        out["gravity_mediolateral_deg"] = _fold_deg(geo.rest_gravity, geo.mediolateral_axis)
        out["axis_mediolateral_deg"] = _fold_deg(geo.axis, geo.mediolateral_axis)
    return out


def line_sources(geo: SetGeometry, params: AnalysisParams) -> list[tuple[str, float, FloatArray, bool]]:
    """Where the femur's line may lie in the face plane: (name, weight, a direction on one of the lines,
    whether it is the set's own rest, within ``same_posture_deg``).

    The first upright reference with weight 1 (people strap the sensor on before they lie down), the later
    ones sharing ``later_reference_weight``, then the device's edges with ``device_edge_weight``.
    """
    refs = [] if geo.references is None else list(np.atleast_2d(geo.references))

    def own(r: FloatArray) -> bool:
        return _fold_deg(geo.rest_gravity, r) <= params.same_posture_deg

    out = [("upright reference", 1.0, refs[0], own(refs[0]))] if refs else []
    later = params.later_reference_weight / max(1, len(refs) - 1)
    out += [("upright reference", later, r, own(r)) for r in refs[1:]]
    out.append(("device edges", params.device_edge_weight, DEVICE_EDGES[0], False))
    return out


VERTICAL_AXIS_MAX_DEG = 45.0
"""A gyroscope's rotation axis within this angle of gravity turns the thigh about the vertical."""


def turns_about_vertical(geo: SetGeometry) -> bool:
    """Whether the reps turn about the vertical (gyroscope only: the accelerometer cannot see such a turn):
    a seated abduction, or a leg rocked underneath the working one."""
    return geo.has_gyro and _fold_deg(geo.axis, geo.rest_gravity) < VERTICAL_AXIS_MAX_DEG


def walking_frame_ok(geo: SetGeometry, params: AnalysisParams) -> bool:
    """Whether the walking frame can be used: a thigh axis, and with a gyroscope a swing axis across it
    (the leg swings about its mediolateral axis, which is perpendicular to the femur; an angle below
    ``walking_frame_min_deg`` means other movement was taken for walking and both are off)."""
    if geo.thigh_axis is None:
        return False
    if not geo.has_gyro or geo.mediolateral_axis is None:
        return True
    return _fold_deg(geo.thigh_axis, geo.mediolateral_axis) >= params.walking_frame_min_deg


def set_features(geo: SetGeometry, params: AnalysisParams | None = None) -> dict[str, float]:
    """The set's features that do not depend on where the femur lies in the face plane.

    ``axis_vertical_deg`` only with a gyroscope (without one the axis is horizontal by construction); with a
    usable walking frame (:func:`walking_frame_ok`) the thigh-frame features (:func:`_walking_features`),
    otherwise the face-normal ones.
    """
    p = params or AnalysisParams()
    out: dict[str, float] = {}
    if geo.has_gyro:
        out["axis_vertical_deg"] = _fold_deg(geo.axis, geo.rest_gravity)
    if walking_frame_ok(geo, p):
        out.update(_walking_features(geo))
    else:
        out["gravity_mediolateral_deg"] = _fold_deg(geo.rest_gravity, SKIN_NORMAL)
        out["axis_mediolateral_deg"] = _fold_deg(geo.axis, SKIN_NORMAL)
    return out


def _tolerance(name: str, ex: Exercise, p: AnalysisParams) -> float:
    if name.endswith("_line_deg"):
        return p.line_tol_deg
    if name == "thigh_tilt_deg" and ex in (CLAM, RAISE):
        return p.lying_tilt_tol_deg
    return {
        "lift_per_range": p.lift_tol,
        "axis_vertical_deg": p.vertical_tol_deg,
        "axis_thigh_deg": p.axis_thigh_tol_deg,
        "thigh_tilt_deg": p.thigh_tilt_tol_deg,
    }.get(name, p.mediolateral_tol_deg)


def feature_scores(
    features: dict[str, float], params: AnalysisParams, *, has_gyro: bool = True
) -> dict[Exercise, float]:
    """Product over features of exp(-d^2 / 2 tol^2), d = distance to each exercise's expected value."""
    scores = dict.fromkeys(FIVE, 1.0)
    for name, value in features.items():
        for ex, expected in (TEMPLATES[name] | ({} if has_gyro else ACCEL_TEMPLATES.get(name, {}))).items():
            scores[ex] *= math.exp(-0.5 * ((value - expected) / _tolerance(name, ex, params)) ** 2)
    return scores


def _max_rom(ex: Exercise, has_gyro: bool, params: AnalysisParams) -> tuple[float, float]:
    """Largest range (deg) ``ex`` can show with or without a gyroscope, and the fall-off beyond it (deg)."""
    if ex == SEATED and not has_gyro:
        return MAX_ACCEL_SEATED_ROM_DEG
    return MAX_ROM_DEG[ex], params.rom_margin_deg


def plausibility(rom_deg: float, has_gyro: bool, params: AnalysisParams) -> dict[Exercise, float]:
    """1 for a range the exercise can have, falling off (Gaussian) above its maximum (:func:`_max_rom`)."""
    out = {}
    for ex in FIVE:
        top, margin = _max_rom(ex, has_gyro, params)
        out[ex] = math.exp(-0.5 * (max(0.0, rom_deg - top) / margin) ** 2)
    return out


def _name(ex: Exercise) -> str:
    return str(ex).replace("_", " ")


def _describe(best: Exercise, second: Exercise, features: dict[str, float], sources: dict[str, str]) -> str:
    """The feature that separates ``best`` from ``second`` most, in words ("" when none does)."""
    key = None
    gap = 0.0
    for name, value in features.items():
        t = TEMPLATES[name]
        if best in t and second in t:
            d = abs(abs(value - t[second]) - abs(value - t[best]))
            if d > gap:
                key, gap = name, d
    if key is None:
        return ""
    text = _TEXT[key].format(features[key])
    return f"{text} ({sources[key]})" if key in sources else text


def _line_scores(
    geo: SetGeometry, p: AnalysisParams
) -> tuple[dict[Exercise, float], dict[str, float], dict[str, str]]:
    """Scores of the in-plane features, each averaged by weight over the line sources that see it; the
    first source's feature values and the names of those sources.

    A source rests on an assumption (the reference is standing or sitting, the device sits square in its
    strap) that may fail: its score never drops below ``line_floor``, so a broken assumption lowers the
    right exercise's score instead of ruling it out. The set's own rest says nothing about where the rest
    lies (a bridge's oblique rest would read as on a line): it places the axis only.
    """
    scores = dict.fromkeys(FIVE, 1.0)
    shown: dict[str, float] = {}
    sources: dict[str, str] = {}
    for name, v in (("axis_line_deg", geo.axis), ("gravity_line_deg", geo.rest_gravity)):
        total = dict.fromkeys(FIVE, 0.0)
        weight = 0.0
        for source, w, line, own_rest in line_sources(geo, p):
            d = line_offset_deg(v, line, SKIN_NORMAL, SKIN_PLANE_MIN_DEG)
            if d is None or (own_rest and name == "gravity_line_deg"):
                continue
            shown.setdefault(name, d)
            sources.setdefault(name, source)
            for ex, sc in feature_scores({name: d}, p).items():
                total[ex] += w * (p.line_floor + (1.0 - p.line_floor) * sc)
            weight += w
        if weight:
            scores = {ex: scores[ex] * total[ex] / weight for ex in FIVE}
    return scores, shown, sources


def _geometric(
    geo: SetGeometry, p: AnalysisParams
) -> tuple[dict[Exercise, float], dict[str, float], dict[str, str], bool]:
    """Geometric scores of one reading of the set; its features, line sources, and whether it used walking."""
    features = set_features(geo, p)
    scores = feature_scores(features, p, has_gyro=geo.has_gyro)
    sources: dict[str, str] = {}
    walking = walking_frame_ok(geo, p)
    if not walking:
        line, line_feats, sources = _line_scores(geo, p)
        features.update(line_feats)
        scores = {ex: scores[ex] * line[ex] for ex in FIVE}
    return scores, features, sources, walking


def _either_polarity(
    geo: SetGeometry, p: AnalysisParams
) -> tuple[dict[Exercise, float], set[Exercise], tuple[dict[str, float], dict[str, str], bool]]:
    """Geometric scores, each exercise read with the reps' rest and top as detected or, weighed by
    ``reversed_polarity_weight``, swapped (the rep detection takes the end that repeats best for the rest:
    a bridge held long at the top can fool it); the exercises that scored better swapped; the features,
    line sources and walking flag as detected (:func:`_geometric`)."""
    scores, features, sources, walking = _geometric(geo, p)
    seen = (features, sources, walking)
    swapped: set[Exercise] = set()
    if geo.top_gravity is None:
        return scores, swapped, seen
    rev, *_ = _geometric(replace(geo, rest_gravity=geo.top_gravity, top_gravity=geo.rest_gravity), p)
    for ex in FIVE:
        if p.reversed_polarity_weight * rev[ex] > scores[ex]:
            scores[ex] = p.reversed_polarity_weight * rev[ex]
            swapped.add(ex)
    return scores, swapped, seen


def vote(geo: SetGeometry, params: AnalysisParams | None = None) -> tuple[ExerciseVote, dict[str, Any]]:
    """Score every exercise for one set and name the best (or ``unknown``).

    Scores: the product of the feature scores (:func:`feature_scores`), without walking times the in-plane
    line scores averaged over the line sources by weight (:func:`line_sources`), read with either polarity
    (:func:`_either_polarity`), times :func:`plausibility`. Confidence: the best score / (sum of scores +
    ``other_exercise_score``); below ``min_exercise_confidence`` the set is ``unknown``. Quality keys: every
    feature as detected (deg; ``lift_per_range`` a fraction), ``frame`` (``walking``, ``face normal``, or
    ``face normal (walking off)`` when the walking frame failed :func:`walking_frame_ok`), ``line_sources``
    (feature -> source, empty with walking), ``swapped`` (exercises scored with rest and top swapped),
    ``scores``, ``confidence``, ``reason``.
    """
    p = params or AnalysisParams()
    geometric, swapped, (features, sources, walking) = _either_polarity(geo, p)
    plaus = plausibility(geo.rom_deg, geo.has_gyro, p)
    scores = {ex: geometric[ex] * plaus[ex] for ex in FIVE}
    best, second = sorted(FIVE, key=lambda e: -scores[e])[:2]
    confidence = scores[best] / (sum(scores.values()) + p.other_exercise_score)
    exercise = best if confidence >= p.min_exercise_confidence else Exercise.UNKNOWN
    raw_best = max(FIVE, key=lambda e: geometric[e])
    notes = []
    if plaus[raw_best] < 0.5:
        top, _ = _max_rom(raw_best, geo.has_gyro, p)
        notes.append(f"a range of {geo.rom_deg:.0f} deg is beyond any {_name(raw_best)} (at most {top:.0f})")
    if best in swapped and exercise != Exercise.UNKNOWN:
        notes.append("read with rest and top swapped")
    reason = _reason(
        exercise,
        (best, second),
        scores[best] < p.other_exercise_score,
        features,
        sources,
        geo,
        "; ".join(notes),
    )
    q: dict[str, Any] = {k: round(v, 2) for k, v in features.items()}
    q["frame"] = (
        "walking" if walking else ("face normal" if geo.thigh_axis is None else "face normal (walking off)")
    )
    q.update(
        {
            "line_sources": sources,
            "swapped": sorted(str(e) for e in swapped),
            "scores": {str(e): round(sc, 4) for e, sc in scores.items()},
            "confidence": round(confidence, 3),
            "reason": reason,
        }
    )
    return ExerciseVote(exercise=exercise, confidence=confidence, scores=scores, reason=reason), q


def _reason(
    exercise: Exercise,
    top_two: tuple[Exercise, Exercise],
    fits_none: bool,
    features: dict[str, float],
    sources: dict[str, str],
    geo: SetGeometry,
    note: str,
) -> str:
    """One line: the decision and the feature (or the range) that made it."""
    best, second = top_two
    why = _describe(best, second, features, sources) or f"range {geo.rom_deg:.0f} deg"
    if exercise != Exercise.UNKNOWN:
        text = f"{_name(best)} rather than {_name(second)}: {why}"
    elif fits_none:
        text = "the set's geometry and range fit none of the five exercises"
    elif {best, second} == {STANDING, SEATED} and not geo.has_gyro and "thigh_tilt_deg" not in features:
        text = (
            "thigh face vertical, no gyroscope and no walking: standing and seated abduction look the same "
            "(a turn about the vertical leaves gravity alone)"
        )
    else:
        text = f"{_name(best)} or {_name(second)}: cannot tell ({why})"
    return f"{text}; {note}" if note else text
