"""Physics of the simulated recordings: gravity, gyro integration, truth vs motion, walking, passive leg."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from simulate import SensorSpec, SimulatedSession
from simulate.body import PELVIS, REST_POSE, Posture, hip_quat
from simulate.kinematics import qmul
from simulate.sensor import synthesize
from simulate.session import UNILATERAL

UP = np.array([0.0, 0.0, 1.0])


@pytest.mark.parametrize("face_in", [False, True])
@pytest.mark.parametrize("side", ["left", "right"])
@pytest.mark.parametrize("strap", [0, 90, 180, 270])
@pytest.mark.parametrize("posture", list(Posture))
def test_static_reading_is_gravity_in_sensor_frame(
    posture: Posture, strap: int, side: str, face_in: bool
) -> None:
    # a thigh held still in each posture, any strap rotation, 15 deg tilt, either leg: the accelerometer
    # reads exactly 1 g along the sensor-frame image of "up" and the gyroscope reads zero
    m = 400
    thigh = np.tile(qmul(PELVIS[posture], hip_quat(*REST_POSE[posture])), (m, 1))
    out = synthesize(
        fine_fs_hz=200.0,
        thigh=thigh,
        sensor_pos_m=np.zeros((m, 3)),
        extra_acc_mps2=np.zeros((m, 3)),
        side=side,
        fs_hz=100.0,
        spec=replace(SensorSpec.ideal(strap_rotation_deg=strap, tilt_deg=15.0), face_in=face_in),
        rng=np.random.default_rng(strap),
    )
    np.testing.assert_allclose(np.linalg.norm(out.accel_g, axis=1), 1.0, atol=1e-9)
    expected = Rotation.from_quat(out.orientation_xyzw).inv().apply(UP)
    np.testing.assert_allclose(out.accel_g, expected, atol=1e-9)
    assert out.gyro_dps is not None
    np.testing.assert_allclose(out.gyro_dps, 0.0, atol=1e-9)


def test_left_leg_is_the_mirror_of_the_right() -> None:
    # the same motion on the left thigh: acc y and gyro x/z flip sign (sagittal-plane mirror)
    m = 600
    t = np.arange(m) / 200.0
    rv = np.column_stack([0.4 * np.sin(t), 0.2 * np.sin(2 * t), 0.3 * np.cos(t)])
    thigh = Rotation.from_rotvec(rv).as_quat()
    kw = dict(
        fine_fs_hz=200.0, thigh=thigh, sensor_pos_m=0.1 * rv, extra_acc_mps2=np.zeros((m, 3)), fs_hz=50.0
    )
    spec = SensorSpec.ideal(strap_rotation_deg=90, tilt_deg=10.0)
    right = synthesize(side="right", spec=spec, rng=np.random.default_rng(1), **kw)  # type: ignore[arg-type]
    left = synthesize(side="left", spec=spec, rng=np.random.default_rng(1), **kw)  # type: ignore[arg-type]
    assert right.gyro_dps is not None and left.gyro_dps is not None
    np.testing.assert_allclose(left.accel_g, right.accel_g * [1, -1, 1], atol=1e-12)
    np.testing.assert_allclose(left.gyro_dps, right.gyro_dps * [-1, 1, -1], atol=1e-12)
    assert np.abs(right.gyro_dps).max() > 5.0


REST_POSTURES = {"standing", "sitting", "lying_left", "lying_right", "supine"}


@pytest.mark.parametrize("which", ["ideal_right", "ideal_left", "realistic"])
def test_acc_is_one_g_at_rest_in_every_posture(
    which: str, request: pytest.FixtureRequest, segment_mask: Callable[..., np.ndarray]
) -> None:
    session: SimulatedSession = request.getfixturevalue(which)
    seen = set()
    for seg in session.truth["segments"]:
        if seg["kind"] != "rest" or seg["end"] - seg["start"] < 3.0:
            continue
        mask = segment_mask(session, seg, trim_s=1.0)
        norm = np.linalg.norm(session.accel_g[mask], axis=1)
        # fidgeting adds a little linear acceleration; scale errors/bias of a real sensor up to ~3 %
        assert abs(np.median(norm) - 1.0) < (0.005 if which != "realistic" else 0.04), seg
        seen.add(seg["posture"])
    if which != "realistic":
        assert seen == REST_POSTURES
        # and the direction is gravity's in the sensor frame given by the true orientation
        mask = np.zeros(session.n_samples, dtype=bool)
        for seg in session.truth["segments"]:
            if seg["kind"] == "rest":
                mask |= segment_mask(session, seg, trim_s=1.0)
        up = Rotation.from_quat(session.orientation_xyzw[mask]).inv().apply(UP)
        cos = np.sum(up * session.accel_g[mask], axis=1) / np.linalg.norm(session.accel_g[mask], axis=1)
        err_deg = np.degrees(np.arccos(np.clip(cos, -1, 1)))
        # fidgets (posture shifts) add brief linear acceleration; otherwise it is gravity alone
        assert np.median(err_deg) < 0.5
        assert np.quantile(err_deg, 0.95) < 3.0


def _integrate(gyro_dps: np.ndarray, dt_s: float) -> Rotation:
    """Body-frame rates -> total rotation: the ordered product of the per-step rotations.

    Multiplied as a balanced tree (neighbours pairwise, order kept), which is vectorised.
    """
    q = Rotation.from_rotvec(np.radians(gyro_dps) * dt_s).as_quat()
    while q.shape[0] > 1:
        if q.shape[0] % 2:
            q = np.vstack([q, [0.0, 0.0, 0.0, 1.0]])
        q = (Rotation.from_quat(q[0::2]) * Rotation.from_quat(q[1::2])).as_quat()
    return Rotation.from_quat(q[0])


@pytest.mark.parametrize("which", ["ideal_right", "ideal_left"])
def test_gyro_integrates_to_orientation_change(
    which: str, request: pytest.FixtureRequest, segment_mask: Callable[..., np.ndarray]
) -> None:
    session: SimulatedSession = request.getfixturevalue(which)
    assert session.gyro_dps is not None
    ori = Rotation.from_quat(session.orientation_xyzw)
    checked = 0
    for seg in session.truth["segments"]:
        if seg["kind"] not in ("set", "walking", "transition") or seg["end"] - seg["start"] < 2.0:
            continue
        idx = np.flatnonzero(segment_mask(session, seg))
        i0, i1 = idx[0], idx[-1]
        # trapezoid-like: the rate at sample k covers half a step either side
        g = session.gyro_dps[i0 : i1 + 1]
        mid = 0.5 * (g[:-1] + g[1:])
        est = _integrate(mid, 1.0 / session.fs_hz)
        true = ori[i0].inv() * ori[i1]
        err_deg = np.degrees((est.inv() * true).magnitude())
        moved_deg = np.degrees(np.sum(np.linalg.norm(np.radians(g), axis=1)) / session.fs_hz)
        assert err_deg < 1.0 + 0.005 * moved_deg, (seg, err_deg, moved_deg)
        checked += 1
    assert checked >= 8


@pytest.mark.parametrize("which", ["ideal_right", "ideal_left", "realistic"])
def test_truth_matches_orientation(which: str, request: pytest.FixtureRequest) -> None:
    # the rep truth (times on the sensor clock, drift included) lines up with the true thigh rotation:
    # at top_start the thigh has turned by ~rom_deg from the rep start, and it is back near the start at end
    session: SimulatedSession = request.getfixturevalue(which)
    ori = Rotation.from_quat(session.orientation_xyzw)
    t = session.time_s
    n_reps = 0
    for s in session.truth["sets"]:
        for rep in s["reps"]:
            i0 = int(np.searchsorted(t, rep["start"]))
            i_top = int(np.searchsorted(t, rep["top_start"]))
            i_end = int(np.searchsorted(t, rep["end"]))
            if any(t[i] - rep[k] > 1.5 / session.fs_hz for i, k in ((i0, "start"), (i_top, "top_start"))):
                continue  # the boundary fell into a run of lost frames
            ang = np.degrees((ori[i0].inv() * ori[i0 : i_end + 1]).magnitude())
            tol = max(2.5, 0.08 * rep["rom_deg"])
            assert abs(ang[i_top - i0] - rep["rom_deg"]) < tol, (s["exercise"], rep, ang[i_top - i0])
            # hold wobble (small corrections, part of the orientation, not of the rep angle) adds a little
            assert abs(ang.max() - rep["rom_deg"]) < tol + 2.0
            assert ang[-1] < 4.0
            n_reps += 1
    assert n_reps >= 5 * 6


def test_walking_cadence(ideal_right: SimulatedSession, segment_mask: Callable[..., np.ndarray]) -> None:
    walks = [s for s in ideal_right.truth["segments"] if s["kind"] == "walking"]
    assert walks
    assert ideal_right.gyro_dps is not None
    for seg in walks:
        mask = segment_mask(ideal_right, seg, trim_s=2.0)
        g = ideal_right.gyro_dps[mask]
        # the thigh swings about one axis: its dominant frequency is the stride frequency (~1 Hz)
        comp = g[:, np.argmax(g.var(axis=0))]
        n_fft = 16 * comp.size  # zero padding: short walks still give a precise peak
        spec = np.abs(np.fft.rfft((comp - comp.mean()) * np.hanning(comp.size), n_fft))
        freqs = np.fft.rfftfreq(n_fft, 1.0 / ideal_right.fs_hz)
        f_peak = freqs[np.argmax(spec)]
        assert 0.8 <= seg["stride_hz"] <= 1.1
        assert abs(f_peak - seg["stride_hz"]) < 0.06, (f_peak, seg["stride_hz"])
        # heel strikes: |acc| jolts recur once per stride
        a = np.linalg.norm(ideal_right.accel_g[mask], axis=1) - 1.0
        lag = round(ideal_right.fs_hz / seg["stride_hz"])
        ac = np.correlate(a - a.mean(), a - a.mean(), "full")[a.size - 1 :]
        assert ac[lag - 3 : lag + 4].max() > 0.3 * ac[0]
        assert np.abs(a).max() > 0.3  # heel strikes: 0.8-2.2 g jolts before the anti-alias filter


def test_passive_leg_makes_no_truth_reps(
    ideal_right: SimulatedSession, segment_mask: Callable[..., np.ndarray]
) -> None:
    truth = ideal_right.truth
    assert all(s["side"] == ideal_right.side and not s["passive"] and s["reps"] for s in truth["sets"])
    passive = [s for s in truth["segments"] if s["kind"] == "passive_set"]
    assert {s["exercise"] for s in passive} == {str(e) for e in UNILATERAL}
    assert all(s["side"] != ideal_right.side and s["n_reps"] > 0 for s in passive)
    ori = Rotation.from_quat(ideal_right.orientation_xyzw)
    assert ideal_right.gyro_dps is not None
    for seg in passive:
        active = next(s for s in truth["sets"] if s["exercise"] == seg["exercise"])
        m_p = segment_mask(ideal_right, seg)
        m_a = (ideal_right.time_s >= active["start"]) & (ideal_right.time_s <= active["end"])
        rms_p = np.sqrt(np.mean(np.sum(ideal_right.gyro_dps[m_p] ** 2, axis=1)))
        rms_a = np.sqrt(np.mean(np.sum(ideal_right.gyro_dps[m_a] ** 2, axis=1)))
        assert rms_p < 0.6 * rms_a, (seg["exercise"], rms_p, rms_a)
        # the passive thigh rocks and shifts (real clams: up to ~20 deg), clearly less than a rep's range
        o = ori[np.flatnonzero(m_p)]
        excursion = np.degrees((o.mean().inv() * o).magnitude()).max()
        rom = np.median([r["rom_deg"] for r in active["reps"]])
        assert 0.3 < excursion < 0.6 * rom, (seg["exercise"], excursion, rom)
