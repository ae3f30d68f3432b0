"""Step 6: exercise recognition, a vote over the five exercises from a set's geometry and range."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

import simulate
from hipsync.records import Exercise, Recording
from processing import analyze
from processing.exercise import FIVE, SKIN_NORMAL, SetGeometry, upright_reference, vote
from processing.params import AnalysisParams
from processing.pipeline import ACCEL_ONLY_NOTE
from simulate.sensor import SensorSpec

P = AnalysisParams()
# thigh frame: femur (knee to hip), anteroposterior, mediolateral (= face normal of a lateral sensor)
F, A, M = np.eye(3)
C45 = np.sqrt(0.5)
BRIDGE_REST = -np.sin(np.radians(50)) * F + np.cos(np.radians(50)) * A  # thigh 50 deg up, knee above hip
# (gravity at rest, rotation axis, range in deg) in the thigh frame, from ../shared/reference/training.md
GEOMETRY = {
    Exercise.CLAMSHELL: (M, C45 * (F + A), 40.0),
    Exercise.SIDE_LYING_LEG_RAISE: (M, A, 35.0),
    Exercise.BANDED_ABDUCTION_STANDING: (F, A, 30.0),
    Exercise.BANDED_ABDUCTION_SEATED: (A, A, 25.0),
    Exercise.SINGLE_LEG_GLUTE_BRIDGE: (BRIDGE_REST, M, 35.0),
}
LYING = [Exercise.CLAMSHELL, Exercise.SIDE_LYING_LEG_RAISE]


def _thigh_to_sensor(rng: np.random.Generator, *, strap_deg: float | None = None) -> np.ndarray:
    """Sensor axes (columns) in the thigh frame of a lateral sensor: face out or in, the strap turned by
    ``strap_deg`` about the face normal (None: any angle), 8 deg of tilt, either leg (a mirror image)."""
    base = np.stack([F, A, M], axis=1) if rng.random() < 0.5 else np.stack([A, F, -M], axis=1)
    angle = rng.uniform(0, 2 * np.pi) if strap_deg is None else np.radians(strap_deg)
    strap = Rotation.from_rotvec([0.0, 0.0, angle]).as_matrix()
    tilt = Rotation.from_rotvec(np.radians(8.0) * rng.normal(size=3) / np.sqrt(3)).as_matrix()
    mirror = np.diag([1.0, -1.0, 1.0]) if rng.random() < 0.5 else np.eye(3)
    return np.asarray(base @ strap @ tilt @ mirror)


def _vote(ex: Exercise, r: np.ndarray, rng: np.random.Generator, **kw: object) -> tuple[Exercise, dict]:
    g, n, rom = GEOMETRY[ex]
    geo = SetGeometry(
        axis=r.T @ n * rng.choice([-1, 1]),
        rest_gravity=r.T @ g,
        rom_deg=float(kw.pop("rom_deg", rom)),  # type: ignore[arg-type]
        has_gyro=bool(kw.pop("has_gyro", True)),
        **kw,  # type: ignore[arg-type]
    )
    v, q = vote(geo, P)
    return v.exercise, q


@pytest.mark.parametrize("exercise", list(GEOMETRY))
@pytest.mark.parametrize("reference", [F, A], ids=["standing_reference", "sitting_reference"])
def test_any_strap_rotation_with_an_upright_reference(exercise: Exercise, reference: np.ndarray) -> None:
    rng = np.random.default_rng(7)
    for _ in range(20):
        r = _thigh_to_sensor(rng)
        got, q = _vote(exercise, r, rng, references=np.atleast_2d(r.T @ reference))
        assert got == exercise, q


@pytest.mark.parametrize("exercise", list(GEOMETRY))
@pytest.mark.parametrize("has_gyro", [True, False])
def test_without_a_reference_the_device_edges_place_the_femur(exercise: Exercise, has_gyro: bool) -> None:
    if exercise == Exercise.BANDED_ABDUCTION_SEATED and not has_gyro:
        pytest.skip("a turn about the vertical is invisible to the accelerometer (next test)")
    rng = np.random.default_rng(8)
    for _ in range(20):
        r = _thigh_to_sensor(rng, strap_deg=90.0 * rng.integers(4))
        got, q = _vote(exercise, r, rng, has_gyro=has_gyro)
        assert got == exercise, q


RAISE_AXIS = Rotation.from_rotvec(np.radians(8.0) * M).apply(A)  # slight internal rotation (training.md)


@pytest.mark.parametrize("exercise", LYING)
@pytest.mark.parametrize("strap_deg", [-12.0, -6.0, 0.0, 6.0, 12.0, 84.0, 192.0])
def test_without_a_reference_clam_and_leg_raise_bear_a_strap_off_square(
    exercise: Exercise, strap_deg: float
) -> None:
    r = np.stack([F, A, M], axis=1) @ Rotation.from_rotvec([0.0, 0.0, np.radians(strap_deg)]).as_matrix()
    n = C45 * (F + A) if exercise == Exercise.CLAMSHELL else RAISE_AXIS
    v, q = vote(SetGeometry(axis=r.T @ n, rest_gravity=r.T @ M, rom_deg=35.0, has_gyro=True), P)
    assert v.exercise == exercise, q


def test_without_a_reference_an_axis_between_clam_and_leg_raise_is_unknown() -> None:
    # the leg-raise axis ~10 deg off the femur's line and the clam axis 45 deg off it: an axis 27.5 deg off
    # the device's edges is either, with the strap ~17 deg off square one way or the other
    n = Rotation.from_rotvec(np.radians(27.5) * SKIN_NORMAL).apply([1.0, 0.0, 0.0])
    v, q = vote(SetGeometry(axis=n, rest_gravity=SKIN_NORMAL, rom_deg=35.0, has_gyro=True), P)
    assert v.exercise == Exercise.UNKNOWN and "cannot tell" in v.reason, q
    assert set(sorted(v.scores, key=lambda e: -v.scores[e])[:2]) == set(LYING)
    # an upright reference settles it whatever the strap
    rng = np.random.default_rng(9)
    for exercise in LYING:
        r = _thigh_to_sensor(rng)
        got, q = _vote(exercise, r, rng, references=np.atleast_2d(r.T @ F))
        assert got == exercise, q


def test_without_gyro_or_walking_seated_and_standing_differ_only_by_range() -> None:
    rng = np.random.default_rng(10)
    r = _thigh_to_sensor(rng, strap_deg=0.0)
    # a seated abduction turns about the vertical: gravity shows only its axis' tilt, a few degrees
    got, q = _vote(Exercise.BANDED_ABDUCTION_STANDING, r, rng, has_gyro=False, rom_deg=8.0)
    assert got == Exercise.UNKNOWN and "standing and seated" in q["reason"], q
    got, q = _vote(Exercise.BANDED_ABDUCTION_STANDING, r, rng, has_gyro=False, rom_deg=25.0)
    assert got == Exercise.BANDED_ABDUCTION_STANDING, q


def test_a_range_the_exercise_cannot_have_is_not_given_its_name() -> None:
    rng = np.random.default_rng(11)
    r = _thigh_to_sensor(rng, strap_deg=0.0)
    got, q = _vote(Exercise.BANDED_ABDUCTION_SEATED, r, rng, rom_deg=110.0)
    assert got == Exercise.UNKNOWN, q
    assert "110 deg is beyond any banded abduction seated" in q["reason"], q
    assert q["scores"]["banded_abduction_seated"] < 0.01


def test_the_vote_scores_every_exercise() -> None:
    rng = np.random.default_rng(12)
    r = _thigh_to_sensor(rng)
    g, n, rom = GEOMETRY[Exercise.CLAMSHELL]
    v, q = vote(
        SetGeometry(axis=r.T @ n, rest_gravity=r.T @ g, rom_deg=rom, has_gyro=True, references=r.T @ F)
    )
    assert set(v.scores) == set(FIVE)
    assert all(0.0 <= s <= 1.0 for s in v.scores.values())
    assert 0.8 < v.confidence <= 1.0
    assert v.exercise == max(v.scores, key=lambda e: v.scores[e]) == Exercise.CLAMSHELL
    assert v.reason.startswith("clamshell rather than side lying leg raise") and v.reason == q["reason"]


@pytest.mark.parametrize("exercise", list(GEOMETRY))
def test_with_walking_any_mounting(exercise: Exercise) -> None:
    # walking gives the femur (mean gravity) and, with a gyroscope, the mediolateral axis (the swing's axis):
    # no assumption about where the sensor sits
    g, n, rom = GEOMETRY[exercise]
    for seed in range(10):
        m = Rotation.random(random_state=seed).as_matrix()  # thigh -> sensor, anything
        geo = SetGeometry(
            axis=m @ n,
            rest_gravity=m @ g,
            rom_deg=rom,
            has_gyro=True,
            thigh_axis=m @ F,
            mediolateral_axis=m @ M,
        )
        v, q = vote(geo, P)
        assert v.exercise == exercise, q


@pytest.mark.parametrize("exercise", [e for e in GEOMETRY if e != Exercise.BANDED_ABDUCTION_SEATED])
def test_with_walking_and_no_gyro_any_mounting_too(exercise: Exercise) -> None:
    # the accelerometer's swing axis can be 90 deg off and the face normal is not used: the femur alone
    # (thigh tilt, axis against the femur) tells these four apart
    g, n, rom = GEOMETRY[exercise]
    for seed in range(10):
        m = Rotation.random(random_state=seed).as_matrix()
        geo = SetGeometry(
            axis=m @ n,
            rest_gravity=m @ g,
            rom_deg=rom,
            has_gyro=False,
            thigh_axis=m @ F,
            mediolateral_axis=m @ A,
        )
        v, q = vote(geo, P)
        assert v.exercise == exercise, q


def test_with_walking_and_no_gyro_a_seated_abduction_shows_the_femur_as_its_axis() -> None:
    # it turns about the vertical tilted by the thigh's slope: gravity moves about the femur, a few degrees
    v, q = vote(SetGeometry(axis=F, rest_gravity=A, rom_deg=6.0, has_gyro=False, thigh_axis=F), P)
    assert v.exercise == Exercise.BANDED_ABDUCTION_SEATED, q
    v, q = vote(SetGeometry(axis=F, rest_gravity=A, rom_deg=30.0, has_gyro=False, thigh_axis=F), P)
    assert v.exercise != Exercise.BANDED_ABDUCTION_SEATED, q  # too much for a tilt
    assert "30 deg is beyond any banded abduction seated" in v.reason


@pytest.mark.parametrize(
    ("rest_tilt_deg", "top_tilt_deg", "expected"),
    [
        (130.0, 104.0, Exercise.SINGLE_LEG_GLUTE_BRIDGE),  # hips rise: the thigh flattens
        (104.0, 130.0, Exercise.SINGLE_LEG_GLUTE_BRIDGE),  # the same, rest and top swapped by the detection
        (84.0, 112.0, Exercise.SIDE_LYING_LEG_RAISE),  # the knee rises from resting on the other leg
    ],
)
def test_with_walking_and_no_gyro_the_tilt_tells_a_low_bridge_from_a_leg_raise(
    rest_tilt_deg: float, top_tilt_deg: float, expected: Exercise
) -> None:
    # axis across the femur, no mediolateral axis: only the thigh's tilt and its change tell them apart
    def at(tilt_deg: float) -> np.ndarray:
        return np.cos(np.radians(tilt_deg)) * F + np.sin(np.radians(tilt_deg)) * M

    geo = SetGeometry(
        axis=A,
        rest_gravity=at(rest_tilt_deg),
        top_gravity=at(top_tilt_deg),
        rom_deg=abs(top_tilt_deg - rest_tilt_deg),
        has_gyro=False,
        thigh_axis=F,
    )
    v, q = vote(geo, P)
    assert v.exercise == expected, q


def test_a_walking_frame_whose_swing_axis_is_not_across_the_femur_is_not_used() -> None:
    # other movement taken for walking shifts both axes; the swing (flexion) axis must be across the femur
    rng = np.random.default_rng(14)
    r = _thigh_to_sensor(rng, strap_deg=0.0)
    bad_thigh = r.T @ Rotation.from_rotvec(np.radians(40.0) * A).apply(F)
    for exercise in GEOMETRY:
        got, q = _vote(exercise, r, rng, thigh_axis=bad_thigh, mediolateral_axis=r.T @ M)
        assert got == exercise and q["frame"] == "face normal (walking off)", q


def test_upright_reference_is_every_long_still_period_in_the_skin_plane_in_time_order() -> None:
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


def _labels(s: simulate.SimulatedSession) -> list[tuple[str, str]]:
    a = analyze(Recording.of(s))
    out = []
    for t in s.truth["sets"]:
        hit = [x for x in a.sets if min(x.end_s, t["end"]) > max(x.start_s, t["start"])]
        out.append((t["exercise"], str(hit[0].exercise) if hit else "missed"))
    return out


@pytest.mark.parametrize("exercise", [str(e) for e in GEOMETRY])
@pytest.mark.parametrize("sensor", ["gyro", "accel", "any_strap", "no_lead"])
def test_simulated_sets_under_drawn_mounting_and_leg(exercise: str, sensor: str) -> None:
    """Strap rotation (multiples of 90 deg, or any angle with the standing lead as reference), face in or out,
    tilt and leg drawn from the seed; short sessions without walking, two sets each."""
    if exercise == "banded_abduction_seated" and sensor == "accel":
        pytest.skip("seated abduction is invisible without a gyroscope (missed by design, next test)")
    got = []
    for seed in (200, 201, 202):
        spec = SensorSpec(
            accel_only=sensor == "accel",
            strap_rotation_deg=int(np.random.default_rng(seed).integers(360))
            if sensor == "any_strap"
            else None,
        )
        lead = (0.0, 0.0) if sensor == "no_lead" else (3.0, 5.0)
        s = simulate.simulate_session(
            seed, spec=simulate.SessionSpec.quick(exercise, sets=2, sensor=spec, lead_s=lead)
        )
        got += _labels(s)
    assert all(g == t for t, g in got), got


def test_accelerometer_only_seated_abduction_is_missed_or_unknown_with_a_note() -> None:
    spec = simulate.SessionSpec.quick("banded_abduction_seated", sensor=SensorSpec(accel_only=True))
    s = simulate.simulate_session(5, spec=spec)
    a = analyze(Recording(time_s=s.time_s, accel_g=s.accel_g, gyro_dps=None, fs_hz=s.fs_hz))
    assert all(x.exercise == Exercise.UNKNOWN for x in a.sets)
    assert ACCEL_ONLY_NOTE in a.quality["warnings"]


def test_every_set_carries_its_confidence_reason_and_scores() -> None:
    s = simulate.simulate_session(3, spec=simulate.SessionSpec.quick("clamshell", sets=2))
    a = analyze(Recording.of(s))
    assert a.sets
    for x in a.sets:
        assert x.exercise == Exercise.CLAMSHELL and 0.5 <= x.exercise_confidence <= 1.0
        assert x.exercise_reason.startswith("clamshell rather than")
        assert set(x.exercise_scores) == set(FIVE)


@pytest.mark.slow
@pytest.mark.parametrize("accel_only", [False, True])
def test_compact_program_sessions_recognised(accel_only: bool) -> None:
    got = []
    for seed in (21, 22):
        program = simulate.simulate_program(2, seed, compact=True, sensor=SensorSpec(accel_only=accel_only))
        for s in program.sessions:
            got += _labels(s)
    seated = "banded_abduction_seated"
    if accel_only:
        # invisible to the accelerometer: missed, or found and left open, never given another name
        assert all(g in ("missed", "unknown") for t, g in got if t == seated), got
        got = [(t, g) for t, g in got if t != seated]
    found = [(t, g) for t, g in got if g != "missed"]
    assert sum(t == g for t, g in found) >= 0.99 * len(found), found
    assert len(found) >= 0.9 * len(got)


@pytest.mark.slow
@pytest.mark.parametrize("accel_only", [False, True])
def test_wide_population_sets_recognised(accel_only: bool) -> None:
    """Any strap angle and placement around the thigh, walking, the other leg's sets, varied people (seeds
    outside simulate.HELD_OUT_SEEDS, which the benchmark uses)."""
    variation = simulate.Variation(accel_only_prob=1.0 if accel_only else 0.0)
    got = []
    for seed in (1040, 1041, 1042):
        got += _labels(simulate.simulate_session(seed, spec=simulate.SessionSpec.wide(variation=variation)))
    found = [(t, g) for t, g in got if g != "missed"]
    assert len(found) >= 0.6 * len(got)
    assert sum(t == g for t, g in found) >= 0.95 * len(found), found
