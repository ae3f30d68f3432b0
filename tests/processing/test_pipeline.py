"""The whole analysis on synthetic sessions: walking, a set, passive legs, any mounting, either leg."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from hipsync.records import Exercise, Recording, analysis_to_json
from processing import ALGORITHM_VERSION, AnalysisParams, analyze

FS = 50.0


def _walk(t: np.ndarray) -> tuple[Rotation, np.ndarray]:
    """Thigh swinging +-20 deg about the mediolateral (world y) axis at 0.9 Hz, heel-strike impacts."""
    swing = np.radians(20.0 * np.sin(2 * np.pi * 0.9 * t))
    impacts = 0.6 * np.maximum(0.0, np.sin(2 * np.pi * 1.8 * t)) ** 12
    return Rotation.from_rotvec(swing[:, None] * np.array([0.0, 1.0, 0.0])), impacts


def session(
    rng: np.random.Generator,
    make_reps: Any,
    make_recording: Any,
    *,
    gyro: bool = True,
    mirror: bool = False,
    reps: int = 8,
    rom: float = 30.0,
    passive: bool = False,
    lying: bool = False,
) -> tuple[Recording, list[Any]]:
    """Stand 5 s, walk 20 s, stand 5 s, a set about world x, stand 5 s, walk 15 s.

    Standing abduction, or with ``lying`` a side-lying leg raise (thigh laid horizontal about world x).
    ``passive``: the leg is rocked the other way (down, with gravity) by a quarter of the range."""
    set_dur = 6 + reps * 6.0 + 6
    t = np.arange(0, 5 + 20 + 5 + set_dur + 5 + 15, 1 / FS)
    rot = Rotation.identity(t.size)
    rv = np.zeros((t.size, 3))
    impacts = np.zeros(t.size)
    w1 = (t >= 5) & (t < 25)
    w2 = t >= t[-1] - 15
    for mask in (w1, w2):
        r, imp = _walk(t[mask] - t[mask][0])
        rv[mask] = r.as_rotvec()
        impacts[mask] = imp
    s0 = 30.0
    ang, truth = make_reps(
        t, t0=s0 + 6, n_reps=reps, rom_deg=rom, con_s=1.5, hold_s=1.0, ecc_s=2.0, pause_s=1.5
    )
    if passive:
        ang = -0.25 * ang  # rocked down a little by the other leg, no lift
    if lying:
        set_end = s0 + set_dur
        lay = np.clip((t - (s0 - 4)) / 2, 0, 1) * np.clip((set_end + 3 - t) / 2, 0, 1)
        ang = ang + 90.0 * (3 * lay**2 - 2 * lay**3)
    rv += np.radians(ang)[:, None] * np.array([1.0, 0.0, 0.0])
    rot = Rotation.from_rotvec(rv)
    mount = Rotation.random(random_state=int(rng.integers(1 << 31)))
    rec = make_recording(t, rot, mount, rng, gyro=gyro, impacts_g=impacts, mirror=mirror)
    return rec, truth


@pytest.mark.parametrize("mirror", [False, True])
def test_set_between_walks_any_mounting_either_leg(
    rng: np.random.Generator, make_reps: Any, make_recording: Any, mirror: bool
) -> None:
    for _ in range(2):
        rec, truth = session(rng, make_reps, make_recording, mirror=mirror)
        a = analyze(rec)
        assert len(a.sets) == 1, a.quality["sets"]
        s = a.sets[0]
        assert s.exercise == Exercise.BANDED_ABDUCTION_STANDING
        assert len(s.reps) == len(truth)
        for r, tr in zip(s.reps, truth, strict=True):
            assert r.start_s == pytest.approx(tr.start_s, abs=0.1)
            assert r.top_start_s == pytest.approx(tr.top_start_s, abs=0.1)
            assert r.top_end_s == pytest.approx(tr.top_end_s, abs=0.1)
            assert r.end_s == pytest.approx(tr.end_s, abs=0.1)
            assert r.rom_deg == pytest.approx(tr.rom_deg, abs=2.0)
        assert a.quality["activity"]["walking_s"] > 25


def test_walking_alone_gives_no_reps(rng: np.random.Generator, make_recording: Any) -> None:
    t = np.arange(0, 60, 1 / FS)
    rot, impacts = _walk(t)
    for gyro in (True, False):
        rec = make_recording(t, rot, Rotation.random(random_state=7), rng, gyro=gyro, impacts_g=impacts)
        assert analyze(rec).sets == ()


def test_passive_leg_rocked_down_gives_no_reps(
    rng: np.random.Generator, make_reps: Any, make_recording: Any
) -> None:
    rec, _ = session(rng, make_reps, make_recording, passive=True, rom=40.0, lying=True)
    a = analyze(rec)
    assert a.sets == (), a.quality["sets"]
    # the same movement lifting the leg is a side-lying leg raise
    rec, truth = session(rng, make_reps, make_recording, rom=40.0, lying=True)
    a = analyze(rec)
    assert [(s.exercise, len(s.reps)) for s in a.sets] == [(Exercise.SIDE_LYING_LEG_RAISE, len(truth))]


def test_accelerometer_only_counts_reps_and_warns(
    rng: np.random.Generator, make_reps: Any, make_recording: Any
) -> None:
    rec, truth = session(rng, make_reps, make_recording, gyro=False)
    a = analyze(rec)
    assert [len(s.reps) for s in a.sets] == [len(truth)]
    assert any("accelerometer only" in w for w in a.quality["warnings"])


def test_a_file_that_is_just_one_set(rng: np.random.Generator, make_set: Any) -> None:
    # side-lying leg raise (thigh horizontal along world y, abduction about world x), sensor flat on the
    # lateral thigh (face normal = thigh y, vertical here) at a random strap rotation
    strap = Rotation.from_rotvec([0.0, 0.0, rng.uniform(0.0, 2.0 * np.pi)])
    mount = Rotation.align_vectors([[0.0, 1.0, 0.0]], [[0.0, 0.0, 1.0]])[0] * strap
    s = make_set(
        rng,
        rest_up=np.array([0.0, 1.0, 0.0]),
        axis_world=[1.0, 0.0, 0.0],
        n_reps=10,
        lead_s=1.0,
        tail_s=1.0,
        mount=mount,
    )
    a = analyze(s.recording)
    assert [len(x.reps) for x in a.sets] == [10]
    # no walking and no upright still period: side-lying is seen; clam vs leg raise rests on the device's
    # edges lying along the thigh, which a random strap rotation breaks (processing/exercise.py)
    scores = a.sets[0].exercise_scores
    lying = {Exercise.CLAMSHELL, Exercise.SIDE_LYING_LEG_RAISE}
    assert set(sorted(scores, key=lambda e: -scores[e])[:2]) == lying
    assert a.sets[0].exercise in lying | {Exercise.UNKNOWN}
    assert any("no walking" in w for w in a.quality["warnings"])


def test_result_carries_version_parameters_and_json_shape(rng: np.random.Generator, make_set: Any) -> None:
    s = make_set(rng, rest_up=np.array([0.0, 0.0, 1.0]), axis_world=[1.0, 0.0, 0.0], n_reps=5)
    params = AnalysisParams(min_rom_deg=6.0)
    a = analyze(s.recording, params)
    assert a.algorithm_version == ALGORITHM_VERSION
    assert a.parameters["min_rom_deg"] == 6.0
    doc = analysis_to_json(a)
    assert set(doc) == {"sets"}
    st = doc["sets"][0]
    assert set(st) == {
        "exercise",
        "side",
        "start",
        "end",
        "velocity_loss",
        "reps",
        "exercise_confidence",
        "exercise_reason",
        "exercise_scores",
    }
    assert set(st["reps"][0]) == {"start", "top_start", "top_end", "end", "rom_deg", "partial"}
    for key in ("clean", "orientation", "activity", "windows", "sets", "warnings"):
        assert key in a.quality


def test_irregular_timestamps_gaps_and_unknown_rate(rng: np.random.Generator, make_set: Any) -> None:
    s = make_set(rng, rest_up=np.array([0.0, 0.0, 1.0]), axis_world=[1.0, 0.0, 0.0], n_reps=8, fs_hz=104.0)
    r = s.recording
    keep = rng.random(r.n_samples) > 0.05  # 5 % of samples lost
    keep[3000:3030] = False  # a 0.3 s gap
    t = r.time_s[keep] + rng.normal(0, 0.002, keep.sum())
    order = np.argsort(t)
    rec = Recording(
        time_s=t[order], accel_g=r.accel_g[keep][order], gyro_dps=r.gyro_dps[keep][order], fs_hz=None
    )  # type: ignore[index]
    a = analyze(rec)
    assert [len(x.reps) for x in a.sets] == [8]
    assert a.quality["clean"]["fs_source"] == "median_dt"


def test_empty_and_still_recordings() -> None:
    t = np.arange(0, 30, 0.02)
    still = Recording(time_s=t, accel_g=np.tile([0.0, 0.0, 1.0], (t.size, 1)), fs_hz=50.0)
    assert analyze(still).sets == ()
    one = Recording(time_s=np.zeros(1), accel_g=np.zeros((1, 3)))
    assert analyze(one).sets == ()
