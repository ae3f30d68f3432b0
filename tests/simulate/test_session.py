"""Sessions: determinism, the truth document's shape, and the sensor's imperfections."""

from __future__ import annotations

import itertools
import json

import numpy as np
import pytest

from simulate import SensorSpec, SessionSpec, SimulatedSession, SimulationError, simulate_session
from simulate.body import EXERCISES

SET_KEYS = {"exercise", "side", "start", "end", "velocity_loss", "reps", "load", "passive"}
REP_KEYS = {"start", "top_start", "top_end", "end", "rom_deg", "partial"}


def test_same_seed_same_session_different_seed_different() -> None:
    spec = SessionSpec.quick("clamshell", fs_hz=50.0)
    a = simulate_session(5, spec=spec)
    b = simulate_session(5, spec=spec)
    c = simulate_session(6, spec=spec)
    np.testing.assert_array_equal(a.time_s, b.time_s)
    np.testing.assert_array_equal(a.accel_g, b.accel_g)
    assert a.gyro_dps is not None and b.gyro_dps is not None
    np.testing.assert_array_equal(a.gyro_dps, b.gyro_dps)
    assert a.truth == b.truth
    assert a.started_at == b.started_at
    assert a.truth["sets"] != c.truth["sets"]


@pytest.mark.parametrize("which", ["ideal_right", "realistic"])
def test_truth_has_the_analyze_json_shape(which: str, request: pytest.FixtureRequest) -> None:
    session: SimulatedSession = request.getfixturevalue(which)
    truth = json.loads(json.dumps(session.truth))  # JSON-serialisable as is
    assert len(truth["sets"]) == len(EXERCISES)
    for s in truth["sets"]:
        assert set(s) == SET_KEYS
        assert s["exercise"] in {str(e) for e in EXERCISES}
        assert s["side"] == session.side
        assert s["passive"] is False
        assert s["start"] == s["reps"][0]["start"] and s["end"] == s["reps"][-1]["end"]
        assert isinstance(s["load"], str) and s["load"]
        for r in s["reps"]:
            assert set(r) == REP_KEYS
            assert r["start"] < r["top_start"] <= r["top_end"] < r["end"]
            lo, hi = EXERCISES[s["exercise"]].rom_deg  # type: ignore[index]
            assert (0.3 * lo if r["partial"] else 0.7 * lo) < r["rom_deg"] < 1.2 * hi
    # segments tile the recording in order
    segs = truth["segments"]
    assert segs[0]["start"] == 0.0
    for a, b in itertools.pairwise(segs):
        assert a["end"] == pytest.approx(b["start"], abs=0.02)
    assert segs[-1]["end"] == pytest.approx(session.time_s[-1], abs=0.05)
    assert {"walking", "transition", "rest", "set", "passive_set"} <= {s["kind"] for s in segs}


def test_realistic_sensor_imperfections(realistic: SimulatedSession) -> None:
    meta = realistic.truth["meta"]["sensor"]
    t = realistic.time_s
    dt = np.diff(t)
    # timestamps on the nominal clock; lost frames leave gaps of whole sample periods
    steps = dt * realistic.fs_hz
    np.testing.assert_allclose(steps, np.round(steps), atol=1e-6)
    assert steps.max() >= 3
    assert meta["dropped_samples"] == round(t[-1] * realistic.fs_hz) + 1 - t.size > 0
    # quantised to the drawn resolution, noisy, biased
    lsb = meta["acc_lsb_g"]
    np.testing.assert_allclose(realistic.accel_g / lsb, np.round(realistic.accel_g / lsb), atol=1e-6)
    assert meta["clock_drift_ppm"] == 2500.0
    assert realistic.gyro_dps is not None
    still = np.linalg.norm(realistic.gyro_dps, axis=1) < 5
    assert still.mean() > 0.2
    assert np.all(np.abs(realistic.accel_g) < 16.0)


def test_accel_only_and_rates() -> None:
    s = simulate_session(
        8, spec=SessionSpec.quick("single_leg_glute_bridge", fs_hz=208.0, sensor=SensorSpec(accel_only=True))
    )
    assert s.gyro_dps is None
    assert s.truth["meta"]["has_gyro"] is False
    assert s.fs_hz == 208.0
    assert np.median(np.diff(s.time_s)) == pytest.approx(1 / 208.0)
    s25 = simulate_session(8, spec=SessionSpec.quick("single_leg_glute_bridge", fs_hz=25.0))
    assert np.median(np.diff(s25.time_s)) == pytest.approx(0.04)
    # the same seed gives the same motion and truth whatever the rate (only the sampling differs)
    assert s25.duration_s == pytest.approx(s.duration_s, rel=0.01)
    reps25 = s25.truth["sets"][0]["reps"]
    reps208 = s.truth["sets"][0]["reps"]
    assert len(reps25) == len(reps208) == 8
    drift = s25.truth["meta"]["sensor"]["clock_drift_ppm"] - s.truth["meta"]["sensor"]["clock_drift_ppm"]
    for a, b in zip(reps25, reps208, strict=True):
        # boundaries agree to the fine grids' resolution (each activity rounds to its grid) and clock drift
        assert a["start"] == pytest.approx(b["start"], abs=0.05 + abs(drift) * 1e-6 * b["start"])
        assert a["rom_deg"] == pytest.approx(b["rom_deg"], abs=0.3)


def test_drawn_defaults_cover_the_variety() -> None:
    sides, rates, straps = set(), set(), set()
    for seed in range(8):
        s = simulate_session(seed, spec=SessionSpec.quick())
        sides.add(s.side)
        rates.add(s.fs_hz)
        straps.add(s.truth["meta"]["sensor"]["strap_rotation_deg"])
        assert 25.0 <= s.fs_hz <= 208.0
        assert s.started_at.tzinfo is not None
    assert sides == {"left", "right"}
    assert len(rates) >= 3 and len(straps) >= 3


@pytest.mark.parametrize(
    "spec",
    [
        SessionSpec(exercises=("squat",)),
        SessionSpec(reps_per_set=(5, 2)),
        SessionSpec(side="middle"),
        SessionSpec(fs_hz=0.0),
    ],
)
def test_bad_specs_raise_typed_errors(spec: SessionSpec) -> None:
    with pytest.raises(SimulationError):
        simulate_session(1, spec=spec)
