"""Step 6 without walking: exercise from the rotation axis, gravity and the sensor's skin normal."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

import simulate
from hipsync.records import Exercise, Recording
from processing import analyze
from processing.exercise import SKIN_NORMAL, recognise_exercise, upright_reference
from processing.params import AnalysisParams
from processing.pipeline import ACCEL_ONLY_NOTE
from simulate.sensor import SensorSpec

P = AnalysisParams()
# thigh frame: femur (knee to hip), anteroposterior, mediolateral (= skin normal of a lateral sensor)
F, A, M = np.eye(3)
C45 = np.sqrt(0.5)
# (exercise, gravity at rest, rotation axis), thigh frame, from ../shared/reference/training.md
GEOMETRY = {
    Exercise.BANDED_ABDUCTION_STANDING: (F, A),
    Exercise.SIDE_LYING_LEG_RAISE: (M, A),
    Exercise.CLAMSHELL: (M, C45 * (F + A)),
    Exercise.BANDED_ABDUCTION_SEATED: (A, A),
    Exercise.SINGLE_LEG_GLUTE_BRIDGE: (np.cos(np.radians(50)) * A + np.sin(np.radians(50)) * F, M),
}
ALL = [str(e) for e in GEOMETRY]


def _thigh_to_sensor(rng: np.random.Generator) -> np.ndarray:
    """Sensor axes in the thigh frame: z along +-M (face out/in), any strap rotation about it, 10 deg tilt."""
    base = np.stack([F, A, M], axis=1) if rng.random() < 0.5 else np.stack([A, F, -M], axis=1)
    strap = Rotation.from_rotvec([0.0, 0.0, rng.uniform(0, 2 * np.pi)]).as_matrix()
    tilt = Rotation.from_rotvec(np.radians(10.0) * rng.normal(size=3) / np.sqrt(3)).as_matrix()
    # columns of ``r`` = sensor axes in the thigh frame; a thigh vector v reads r.T @ v in the sensor
    return np.asarray(base @ strap @ tilt)


@pytest.mark.parametrize("exercise", list(GEOMETRY))
@pytest.mark.parametrize("reference", ["standing", "sitting"])
def test_geometry_under_random_strap_rotations(exercise: Exercise, reference: str) -> None:
    rng = np.random.default_rng(7)
    for _ in range(20):
        r = _thigh_to_sensor(rng)
        g, n = GEOMETRY[exercise]
        ref = F if reference == "standing" else A
        got, q = recognise_exercise(
            axis=r.T @ n * rng.choice([-1, 1]),
            rest_gravity=r.T @ g,
            thigh_axis=None,
            has_gyro=True,
            reference=r.T @ ref,
            params=P,
        )
        assert got == exercise, q


def test_side_lying_without_reference_is_unknown() -> None:
    got, q = recognise_exercise(axis=A, rest_gravity=M, thigh_axis=None, has_gyro=True, reference=None)
    assert got == Exercise.UNKNOWN and "no upright" in q["reason"]


def test_accelerometer_only_without_walking_stays_unknown() -> None:
    got, _ = recognise_exercise(axis=A, rest_gravity=F, thigh_axis=None, has_gyro=False, reference=F)
    assert got == Exercise.UNKNOWN


def test_upright_reference_is_the_first_long_still_period_in_the_skin_plane() -> None:
    fs = 25.0
    g = np.tile(SKIN_NORMAL, (500, 1))  # lying on the sensor side
    g[100:130] = [0.0, 1.0, 0.0]  # upright for 1.2 s only: too short
    g[200:300] = [1.0, 0.0, 0.0]  # standing still for 4 s
    g[400:500] = [0.0, 1.0, 0.0]  # sitting later
    still = np.ones(500, dtype=bool)
    still[[99, 130, 199, 300, 399]] = False
    ref, q = upright_reference(g, still, fs, P)
    assert ref is not None and np.allclose(ref, [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])
    assert q["reference_skin_deg"] == 90.0 and q["references"] == 2
    assert upright_reference(np.tile(SKIN_NORMAL, (500, 1)), still, fs, P)[0] is None


def _analyze(s: simulate.SimulatedSession) -> list[str]:
    rec = Recording(time_s=s.time_s, accel_g=s.accel_g, gyro_dps=s.gyro_dps, fs_hz=s.fs_hz)
    a = analyze(rec)
    out = []
    for t in s.truth["sets"]:
        hit = [x for x in a.sets if min(x.end_s, t["end"]) > max(x.start_s, t["start"])]
        out.append(str(hit[0].exercise) if hit else "missed")
    return out


@pytest.mark.parametrize("exercise", ALL)
def test_quick_one_set_sessions_under_random_mounting(exercise: str) -> None:
    # strap rotation, face in/out, tilt and leg are all drawn from the seed
    got = []
    for seed in range(200, 206):
        s = simulate.simulate_session(seed, spec=simulate.SessionSpec.quick(exercise))
        got += _analyze(s)
    assert sum(g == exercise for g in got) >= 0.9 * len(got), got


@pytest.mark.slow
def test_compact_program_sessions_recognised() -> None:
    truth, got = [], []
    for seed in (21, 22):
        program = simulate.simulate_program(2, seed, compact=True)
        for s in program.sessions:
            truth += [t["exercise"] for t in s.truth["sets"]]
            got += _analyze(s)
    correct = sum(a == b for a, b in zip(truth, got, strict=True))
    wrong = sum(b not in (a, "unknown", "missed") for a, b in zip(truth, got, strict=True))
    assert correct >= 0.9 * len(truth) and wrong <= 0.02 * len(truth), list(zip(truth, got, strict=True))


def test_one_set_file_without_standing_lead_never_guesses_wrong() -> None:
    for exercise in ALL:
        s = simulate.simulate_session(301, spec=simulate.SessionSpec.quick(exercise, lead_s=(0.0, 0.0)))
        got = _analyze(s)
        assert all(g in (exercise, "unknown") for g in got), (exercise, got)


def test_accelerometer_only_seated_abduction_is_unknown_with_a_note() -> None:
    spec = simulate.SessionSpec.quick("banded_abduction_seated", sensor=SensorSpec(accel_only=True))
    s = simulate.simulate_session(5, spec=spec)
    a = analyze(Recording(time_s=s.time_s, accel_g=s.accel_g, gyro_dps=None, fs_hz=s.fs_hz))
    assert all(x.exercise == Exercise.UNKNOWN for x in a.sets)
    assert ACCEL_ONLY_NOTE in a.quality["warnings"]
