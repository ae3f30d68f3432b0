"""Step 5h: passive legs in whole sessions, where walking gave the thigh's long axis.

Every exercise lifts the leg (or the hips) against gravity in its concentric phase, and the working leg is
the top one when lying on the side and the one that moves outwards when standing. With the thigh axis
known (walking in the recording), a group of regular reps is checked against that:

- :func:`lying_on_sensor_leg`: with the signed lateral axis known
  (:func:`processing.activity.lateral_axis`: walking, quiet standing next to it and the leg's side), a
  group whose rest has the thigh's outer face turned down (``-lateral`` within 60 deg of up) is the leg
  underneath: no exercise of ours is done lying on the working leg.
- :func:`knee_moves_inward`: standing, a working leg abducts (the knee moves outwards); the stance leg
  under a working one adducts as the pelvis tilts.
- :func:`lift_fraction`: the change of thigh tilt from rest to top divided by the ROM (bridge: sign
  reversed). Below ``min_lift_fraction`` the group is either seen with the wrong polarity or a passive leg
  rocked down and back; the flipped reps are kept only if they lift and the set starts or ends at rest
  (:func:`rest_level_fraction` below 0.5).
- a "seated" set (vertical axis) must leave the tilt alone (``|lift| <= max_seated_lift``) and must be
  neither side-lying (a leg rocked underneath the working one turns about the vertical) nor standing (a
  stance leg rolled about its own long axis).

:func:`passive_reason` returns why a group is passive (a sentence for ``--explain``), or None. None of
these uses a size in degrees: a passive leg can rock by half the working leg's range, and a deliberate set
can be as small as 7 deg.
"""

from __future__ import annotations

import numpy as np

from processing.activity import Posture
from processing.filters import FloatArray, median_small
from processing.params import AnalysisParams
from processing.reps import RepCandidate


def rest_level_fraction(
    x: FloatArray, reps: list[RepCandidate], fs: float, params: AnalysisParams
) -> float | None:
    """How high the thigh was shortly before the first rep and after the last one (``rest_edge_s``), as a
    fraction of the rep range (0: at the bottom, i.e. resting; 1: up at the top). The smaller of the two
    sides is returned: a set must start *or* end at rest. ``x`` is the polarity-corrected angle.
    A passive leg seen with the flipped polarity is up at the top on both sides (its "reps" are the returns
    from being rocked down). None when the window has no samples there."""
    k = max(1, round(params.rest_edge_s * fs))
    gap = round(0.2 * fs)
    fracs = []
    first, last = reps[0], reps[-1]
    i1 = int(first.start) - gap
    if i1 > 0:
        bottom = float(x[int(first.start)])
        top = float(np.max(x[int(first.top_start) : int(np.ceil(first.top_end)) + 1]))
        if top > bottom:
            fracs.append((float(np.max(x[max(0, i1 - k) : i1])) - bottom) / (top - bottom))
    j0 = int(np.ceil(last.end)) + gap
    if j0 < x.size:
        bottom = float(x[min(x.size - 1, int(np.ceil(last.end)))])
        top = float(np.max(x[int(last.top_start) : int(np.ceil(last.top_end)) + 1]))
        if top > bottom:
            fracs.append((float(np.max(x[j0 : j0 + k])) - bottom) / (top - bottom))
    return float(np.min(fracs)) if fracs else None


def rest_and_top(reps: list[RepCandidate], gravity: FloatArray, offset: int) -> tuple[FloatArray, FloatArray]:
    """(k, 3) gravity at each rep's start and at the middle of its top hold (``offset``: the window's first
    sample on the clean grid)."""
    n = gravity.shape[0]
    i0 = np.minimum(n - 1, offset + np.round([r.start for r in reps]).astype(np.intp))
    i1 = np.minimum(n - 1, offset + np.round([0.5 * (r.top_start + r.top_end) for r in reps]).astype(np.intp))
    return gravity[i0], gravity[i1]


def lift_fraction(
    reps: list[RepCandidate], gravity: FloatArray, offset: int, thigh_axis: FloatArray | None
) -> float | None:
    """How much the concentric phase raises the working end of the thigh, as a fraction of the ROM.

    The thigh tilt (angle between gravity and the knee-to-hip axis) grows when the knee rises (clam, leg
    raise, standing abduction) and shrinks when the hip rises with the knee above it (bridge, rest tilt above
    90 deg). Returns the median over reps of that change divided by the ROM (1: a pure lift in a vertical
    plane, 0: horizontal movement, negative: the "rep" moves with gravity, as a passive leg that is rocked
    down and back does). None when the thigh axis is unknown.
    """
    if thigh_axis is None or not reps:
        return None
    rest, top = rest_and_top(reps, gravity, offset)
    t0 = np.degrees(np.arccos(np.clip(rest @ thigh_axis, -1.0, 1.0)))
    t1 = np.degrees(np.arccos(np.clip(top @ thigh_axis, -1.0, 1.0)))
    d = np.where(t0 <= 115.0, t1 - t0, t0 - t1)
    return median_small(d / np.maximum([r.rom_deg for r in reps], 1e-6))


def flipped_span(group: list[RepCandidate], fs: float) -> tuple[float, float]:
    """Samples (window-local) where reps seen with the opposite polarity belong to ``group``: an inverted rep
    runs from one top to the next, so the true first and last reps reach about one rep beyond the group."""
    dur = max(r.duration for r in group)
    return group[0].start - 1.5 * dur - 2.0 * fs, group[-1].end + 1.5 * dur + 2.0 * fs


def flip_is_a_set(
    rest_fraction: float | None, flipped: list[RepCandidate], lift: float | None, params: AnalysisParams
) -> bool:
    """The flipped reps are a set: lifting, and starting or ending at rest."""
    return (
        bool(flipped)
        and rest_fraction is not None
        and rest_fraction < 0.5
        and lift is not None
        and lift >= params.min_lift_fraction
    )


def lying_on_sensor_leg(rest_up: FloatArray, lateral: FloatArray | None) -> bool:
    """True when the thigh's outer face points down at rest (``rest_up``: unit specific force at rest, the
    sensor-frame "up"; ``lateral``: the signed lateral axis): the sensor leg lies underneath."""
    return lateral is not None and float(rest_up @ lateral) < -0.5


def knee_moves_inward(
    reps: list[RepCandidate], gravity: FloatArray, offset: int, lateral: FloatArray | None
) -> bool:
    """True when the reps' concentric phases turn the thigh's "up" towards its inner side: the knee moves
    medially (adduction), as a stance leg's does when the other leg abducts."""
    if lateral is None or not reps:
        return False
    rest, top = rest_and_top(reps, gravity, offset)
    d = top - rest
    size = np.linalg.norm(d, axis=1)
    moved = size > 1e-6
    shares = ((d[moved] @ lateral) / size[moved]).tolist()
    return bool(shares) and median_small(shares) < -0.5


def passive_reason(
    kept: list[RepCandidate],
    about_vertical: bool,
    posture: Posture,
    lift: float | None,
    params: AnalysisParams,
    *,
    underneath: bool = False,
    inward: bool = False,
) -> str | None:
    """Why a regular group is a passive leg rather than a set (a sentence), or None. ``about_vertical``:
    the reps turn about the vertical (voted a seated abduction, or a gyro axis near gravity); ``lift`` from
    :func:`lift_fraction`; ``underneath`` from :func:`lying_on_sensor_leg`; ``inward`` from
    :func:`knee_moves_inward` (used when standing). The low-lift case (wrong polarity or moving with
    gravity) is decided by the caller, which can flip the polarity (see module docstring)."""
    p = params
    if underneath:
        return "the thigh's outer face points down: the sensor leg lies underneath the working one"
    if inward and posture == Posture.STANDING:
        return "the knee moves inwards: a stance leg under a working one, not an abduction"
    seated = about_vertical
    if seated and lift is not None and abs(lift) > p.max_seated_lift:
        return f"turns about the vertical but tilts the thigh (lift {lift:.2f}): a leg rocked by the other"
    if seated and posture == Posture.SIDE_LYING:
        return "turns about the vertical while lying on the side: a leg rocked underneath the working one"
    if seated and posture == Posture.STANDING:
        return "turns about its own long axis while standing: a stance leg rolled by the working one"
    return None
