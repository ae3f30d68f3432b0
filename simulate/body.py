"""Body model: pelvis postures, the right thigh's pose in each, and the five exercises' rep geometry.

All poses are for the **right** thigh (see ``simulate.kinematics`` for frames); a left-leg sensor is
produced by mirroring. Angles in degrees, lengths in metres.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

import numpy as np
from scipy.spatial.transform import Rotation

from hipsync.records import Exercise
from simulate.kinematics import (
    ABDUCTION_AXIS,
    EXTERNAL_ROTATION_AXIS,
    FLEXION_AXIS,
    FloatArray,
    qfrom_rotvec,
    qmul,
    unit,
)

THIGH_LENGTH_M = 0.42
#: Sensor position in the thigh frame: lateral surface (right leg: -y), a bit above mid-thigh.
SENSOR_LEVER_M = np.array([0.0, -0.075, -0.22])


class Posture(enum.StrEnum):
    """Whole-body postures; ``lying_left`` means lying on the left side (right leg on top)."""

    STANDING = "standing"
    SITTING = "sitting"
    LYING_LEFT = "lying_left"
    LYING_RIGHT = "lying_right"
    SUPINE = "supine"


def _frame(x: list[float], y: list[float], z: list[float]) -> FloatArray:
    return np.asarray(Rotation.from_matrix(np.array([x, y, z], dtype=float).T).as_quat(), dtype=float)


_IDENTITY = np.array([0.0, 0.0, 0.0, 1.0])

#: Pelvis orientation quaternion (xyzw; body x anterior, y left, z towards the head) per posture.
PELVIS: dict[Posture, FloatArray] = {
    Posture.STANDING: _IDENTITY,
    Posture.SITTING: _IDENTITY,
    Posture.LYING_LEFT: _frame([0, 1, 0], [0, 0, -1], [-1, 0, 0]),
    Posture.LYING_RIGHT: _frame([0, -1, 0], [0, 0, 1], [-1, 0, 0]),
    Posture.SUPINE: _frame([0, 0, 1], [0, 1, 0], [-1, 0, 0]),
}

#: Hip height above the floor (m) in each posture.
HIP_HEIGHT_M: dict[Posture, float] = {
    Posture.STANDING: 0.92,
    Posture.SITTING: 0.50,
    Posture.LYING_LEFT: 0.17,
    Posture.LYING_RIGHT: 0.17,
    Posture.SUPINE: 0.10,
}


def hip_quat(flexion_deg: float, abduction_deg: float = 0.0, external_deg: float = 0.0) -> FloatArray:
    """Quaternion of a right-hip pose: flexion, then abduction, then external rotation (deg, intrinsic)."""
    q = qmul(
        qfrom_rotvec(np.deg2rad(flexion_deg) * FLEXION_AXIS),
        qfrom_rotvec(np.deg2rad(abduction_deg) * ABDUCTION_AXIS),
    )
    return qmul(q, qfrom_rotvec(np.deg2rad(external_deg) * EXTERNAL_ROTATION_AXIS))


@dataclass(frozen=True, slots=True, kw_only=True)
class ExerciseModel:
    """Geometry of one exercise for the working (right) thigh.

    ``base`` is the hip pose at the bottom of a rep (flexion, abduction, external rotation in deg);
    ``axis`` the rep's rotation axis in the thigh frame (unit); ``pivot`` the point that stays put
    (``hip`` or ``knee``: in a bridge the knee stays and the hips rise). ``rom_deg`` the typical range.
    ``passive_posture`` is the posture when the *other* leg trains (None: no passive sets modelled).
    """

    exercise: Exercise
    posture: Posture
    base: tuple[float, float, float]
    axis: FloatArray
    rom_deg: tuple[float, float]
    pivot: str
    passive_posture: Posture | None
    passive_base: tuple[float, float, float]
    band: bool
    #: landing jolt (g) when the rep ends on a support (leg on leg, hips on the floor); (0, 0) for none
    impact_g: tuple[float, float]
    #: multiplies the person's top-hold time (bridges are held longer, clamshells often not at all)
    hold_scale: float
    #: multiplies the person's concentric and eccentric times (the real MEx clams take ~3-4 s a rep)
    tempo_scale: float = 1.0


def _clam_axis() -> FloatArray:
    # With the hip at 45 deg and the knee at 90 deg the foot lies at -L z - Ls x in the thigh frame;
    # the knee opens about the hip-to-foot line.
    return np.asarray(unit(np.array([-0.9, 0.0, -1.0])), dtype=float)


EXERCISES: dict[Exercise, ExerciseModel] = {
    Exercise.CLAMSHELL: ExerciseModel(
        exercise=Exercise.CLAMSHELL,
        posture=Posture.LYING_LEFT,
        base=(45.0, -6.0, 0.0),
        axis=_clam_axis(),
        rom_deg=(30.0, 50.0),
        pivot="hip",
        passive_posture=Posture.LYING_RIGHT,
        passive_base=(45.0, 0.0, 0.0),
        band=True,
        impact_g=(0.03, 0.15),
        hold_scale=0.35,
        tempo_scale=0.85,
    ),
    Exercise.SIDE_LYING_LEG_RAISE: ExerciseModel(
        exercise=Exercise.SIDE_LYING_LEG_RAISE,
        posture=Posture.LYING_LEFT,
        base=(5.0, -6.0, 0.0),
        # abduction with slight internal rotation (+z) and extension (+y)
        axis=np.asarray(unit(np.array([-1.0, 0.18, 0.15])), dtype=float),
        rom_deg=(25.0, 45.0),
        pivot="hip",
        passive_posture=Posture.LYING_RIGHT,
        passive_base=(10.0, 0.0, 0.0),
        band=False,
        impact_g=(0.15, 0.45),
        hold_scale=1.2,
    ),
    Exercise.BANDED_ABDUCTION_STANDING: ExerciseModel(
        exercise=Exercise.BANDED_ABDUCTION_STANDING,
        posture=Posture.STANDING,
        base=(3.0, 0.0, 0.0),
        axis=np.asarray(unit(np.array([-1.0, -0.08, 0.0])), dtype=float),
        rom_deg=(20.0, 40.0),
        pivot="hip",
        passive_posture=Posture.STANDING,
        passive_base=(0.0, 2.0, 0.0),
        band=True,
        impact_g=(0.03, 0.12),
        hold_scale=1.0,
    ),
    Exercise.BANDED_ABDUCTION_SEATED: ExerciseModel(
        exercise=Exercise.BANDED_ABDUCTION_SEATED,
        posture=Posture.SITTING,
        base=(88.0, 4.0, 0.0),
        # in 90 deg of flexion the abduction axis is vertical: gravity barely changes
        axis=np.asarray(unit(np.array([-1.0, 0.0, -0.12])), dtype=float),
        rom_deg=(20.0, 35.0),
        pivot="hip",
        passive_posture=None,
        passive_base=(88.0, 4.0, 0.0),
        band=True,
        impact_g=(0.0, 0.0),
        hold_scale=0.8,
    ),
    Exercise.SINGLE_LEG_GLUTE_BRIDGE: ExerciseModel(
        exercise=Exercise.SINGLE_LEG_GLUTE_BRIDGE,
        posture=Posture.SUPINE,
        base=(50.0, 3.0, 0.0),
        # hip extension lowers the thigh from ~50 deg elevation towards level
        axis=-FLEXION_AXIS,
        rom_deg=(25.0, 45.0),
        pivot="knee",
        passive_posture=None,
        passive_base=(50.0, 3.0, 0.0),
        band=False,
        impact_g=(0.05, 0.25),
        hold_scale=1.8,
    ),
}

#: Rest pose of the right hip (flexion, abduction, external rotation) in each posture.
REST_POSE: dict[Posture, tuple[float, float, float]] = {
    Posture.STANDING: (2.0, 1.0, 0.0),
    Posture.SITTING: (88.0, 6.0, 5.0),
    Posture.LYING_LEFT: (35.0, -6.0, 0.0),
    Posture.LYING_RIGHT: (35.0, 0.0, 0.0),
    Posture.SUPINE: (45.0, 4.0, 0.0),
}


def hip_position(posture: Posture) -> FloatArray:
    """Hip joint position (m) in the posture's local frame: above the origin at its hip height."""
    return np.array([0.0, 0.0, HIP_HEIGHT_M[posture]])
