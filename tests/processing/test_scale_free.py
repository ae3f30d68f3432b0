"""Detection relative to each set's own range, pace and rests (issue 12), on the independent synthetic model
of conftest.py: blocks of different range and speed in one set, brisk and very slow reps, long holds, small
irregular bumps of a resting leg, fidgets between reps, and the lateral side from walking."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from hipsync.records import Recording
from processing import AnalysisParams, analyze
from processing.activity import lateral_axis
from processing.passive import knee_moves_inward, lying_on_sensor_leg
from processing.reps import RepCandidate, find_excursions
from processing.sets import accept_set, judge_regularity, on_axis, split_at_rests

FS = 50.0
P = AnalysisParams()
LYING = np.array([1.0, 0.0, 0.0])  # knee-to-hip axis horizontal: side-lying
AXIS = np.array([0.0, 1.0, 0.0])  # a horizontal rotation axis (a leg raise)


def _blocks(
    make_reps: Any, blocks: list[tuple[int, float, tuple[float, float, float, float]]], rest_s: float
) -> tuple[np.ndarray, np.ndarray, int]:
    """Angle (deg) of consecutive blocks (n reps, ROM, tempo) with ``rest_s`` between blocks, 6 s lead."""
    durs = [n * sum(tempo) for n, _, tempo in blocks]
    t = np.arange(0.0, 6.0 + sum(durs) + rest_s * (len(blocks) - 1) + 8.0, 1 / FS)
    ang = np.zeros_like(t)
    t0 = 6.0
    for (n, rom, (con, hold, ecc, pause)), dur in zip(blocks, durs, strict=True):
        a, _ = make_reps(t, t0=t0, n_reps=n, rom_deg=rom, con_s=con, hold_s=hold, ecc_s=ecc, pause_s=pause)
        ang += a
        t0 += dur + rest_s
    return t, ang, sum(n for n, _, _ in blocks)


def _record(
    t: np.ndarray, ang: np.ndarray, rng: np.random.Generator, make_recording: Any, **kw: Any
) -> Recording:
    base = Rotation.align_vectors([LYING], [[0.0, 0.0, 1.0]])[0]
    thigh = Rotation.from_rotvec(np.radians(ang)[:, None] * AXIS) * base
    mount = Rotation.random(random_state=int(rng.integers(1 << 31)))
    rec: Recording = make_recording(t, thigh, mount, rng, **kw)
    return rec


NORMAL = (1.0, 4.0, 1.0, 0.8)
FAST = (0.4, 0.3, 0.4, 0.4)


@pytest.mark.parametrize("gyro", [True, False])
@pytest.mark.parametrize("rest_s", [15.0, 5.0])
def test_uci_like_protocol_normal_fast_and_small_blocks(
    rng: np.random.Generator, make_reps: Any, make_recording: Any, gyro: bool, rest_s: float
) -> None:
    # 10 normal, 10 fast, 10 small reps (a third of the range), as the UCI protocol; separate sets with
    # long rests, one set of three blocks with short ones: 30 reps either way
    t, ang, n = _blocks(make_reps, [(10, 30.0, NORMAL), (10, 28.0, FAST), (10, 9.0, NORMAL)], rest_s)
    a = analyze(_record(t, ang, rng, make_recording, gyro=gyro))
    assert sum(len(s.reps) for s in a.sets) == n
    assert all(p.counted for p in a.considered if p.reason == "set")


@pytest.mark.parametrize(
    ("tempo", "rom", "n"),
    [
        ((0.3, 0.05, 0.3, 0.15), 25.0, 12),  # brisk: a rep every 0.8 s
        ((2.6, 0.6, 2.6, 0.6), 15.0, 6),  # very slow: 6 s per rep
        ((1.2, 7.0, 1.2, 1.0), 20.0, 6),  # long holds, as a bridge's
        ((1.0, 1.0, 1.0, 1.0), 7.0, 8),  # a small range
    ],
)
def test_brisk_slow_held_and_small_reps_are_one_set(
    rng: np.random.Generator,
    make_reps: Any,
    make_recording: Any,
    tempo: tuple[float, float, float, float],
    rom: float,
    n: int,
) -> None:
    t, ang, _ = _blocks(make_reps, [(n, rom, tempo)], 0.0)
    a = analyze(_record(t, ang, rng, make_recording))
    assert [len(s.reps) for s in a.sets] == [n]


def test_fidgets_between_reps_are_not_reps(
    rng: np.random.Generator, make_reps: Any, make_recording: Any
) -> None:
    t, ang, n = _blocks(make_reps, [(8, 30.0, (1.0, 1.0, 1.2, 2.5))], 0.0)
    # a 2-3 deg twitch in every bottom pause (10 % of the range)
    for k in range(8):
        mid = 6.0 + k * 5.7 + 3.2 + 1.25
        ang += rng.uniform(2.0, 3.0) * np.exp(-(((t - mid) / 0.15) ** 2))
    a = analyze(_record(t, ang, rng, make_recording))
    assert [len(s.reps) for s in a.sets] == [n]


def test_irregular_small_bumps_of_a_resting_leg_are_no_set(
    rng: np.random.Generator, make_reps: Any, make_recording: Any
) -> None:
    # bumps in the working leg's rhythm (every 3 s) whose size varies from 1.5 to 9 deg
    sizes = [1.9, 3.4, 7.8, 7.1, 3.4, 3.7, 8.7, 5.7, 2.2, 6.5]
    t, ang, _ = _blocks(make_reps, [(len(sizes), 1.0, (0.5, 0.2, 0.5, 1.8))], 0.0)
    ang, _ = make_reps(
        t, t0=6.0, n_reps=len(sizes), rom_deg=sizes, con_s=0.5, hold_s=0.2, ecc_s=0.5, pause_s=1.8
    )
    a = analyze(_record(t, ang, rng, make_recording, gyro=False))
    assert a.sets == ()
    assert a.considered and not any(p.counted for p in a.considered)


def _cand(start_s: float, rom: float, dur_s: float = 3.0, ret: float | None = None) -> RepCandidate:
    s = start_s * FS
    return RepCandidate(
        start=s,
        top_start=s + 0.3 * dur_s * FS,
        top_end=s + 0.5 * dur_s * FS,
        end=s + dur_s * FS,
        rom_deg=rom,
        return_deg=rom if ret is None else ret,
        peak_concentric_dps=30.0,
        peak_eccentric_dps=30.0,
    )


def test_excursions_a_hold_wobble_joins_a_small_rep_stays_and_another_posture_does_not_matter() -> None:
    t = np.arange(0.0, 60.0, 1 / FS)
    bump = lambda c, w, h: h * np.exp(-(((t - c) / w) ** 8))  # noqa: E731 - flat-topped excursions
    x = -90.0 * (t < 5.0)  # another posture before the set
    x = x + bump(10, 1.5, 30) + bump(17, 1.5, 30) + bump(24, 1.5, 9) + bump(31, 1.5, 30)
    x = x - 5.0 * np.exp(-(((t - 17.3) / 0.2) ** 2))  # a wobble during the second rep's hold
    exc = find_excursions(x, FS, 3.2)
    assert [round(float(t[p])) for p in exc.peaks] == [10, 17, 24, 31]


def test_rests_are_relative_to_the_sets_own_pauses_and_a_missed_rep_is_no_rest() -> None:
    reps = [_cand(3.5 * i, 30) for i in range(5)] + [_cand(40 + 3.5 * i, 30) for i in range(5)]
    assert [len(g) for g in split_at_rests(reps, FS, P)] == [5, 5]  # 22 s rest, pauses of 0.5 s
    # the same gap with a rep-sized excursion in it (a slow rep the detector missed) is not a rest
    x = np.zeros(int(60 * FS))
    x[int(25 * FS) : int(30 * FS)] = 25.0
    assert [len(g) for g in split_at_rests(reps, FS, P, x)] == [10]


def test_blocks_of_like_reps_are_judged_on_their_own() -> None:
    # normal, fast and small blocks: each regular, the whole not
    reps = (
        [_cand(7.0 * i, 30 + (i % 3)) for i in range(10)]
        + [_cand(80 + 2.0 * i, 27 + (i % 2), dur_s=1.5) for i in range(10)]
        + [_cand(110 + 7.0 * i, 9 + 0.5 * (i % 2)) for i in range(10)]
    )
    blocks, _, bad, irregular = judge_regularity(reps, reps, P)
    assert len(blocks) == 3 and not any(bad) and not irregular
    kept, q = accept_set(reps, np.zeros(int(200 * FS), dtype=bool), P, FS)
    assert len(kept) == 30 and q["verdict"] == "set" and q["blocks"] == 3


def test_small_group_with_many_partial_size_excursions_is_irregular() -> None:
    # 5 bumps above the floor that look regular, among 9 of the same process (a resting leg's)
    reps = [_cand(3.0 * i, r) for i, r in enumerate([3.4, 7.8, 7.1, 3.4, 3.7, 8.7, 5.7, 7.5, 3.3])]
    kept, q = accept_set(reps, np.zeros(int(60 * FS), dtype=bool), P, FS)
    assert kept == [] and q["verdict"] == "irregular"


def test_off_axis_excursions_are_dropped() -> None:
    reps = [_cand(7.0 * i, 18.0) for i in range(7)] + [_cand(52 + 4.0 * i, 6.0) for i in range(4)]
    turned = np.array([17.5] * 7 + [20.0, 22.0, 18.0, 17.0])  # the sways turn the thigh mostly elsewhere
    assert len(on_axis(reps, turned, P)) == 7


def _gait(side: str, flexion_deg: float = 10.0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Gravity ("up", sensor frame) of a right or left thigh: 5 s standing, 20 s walking with the hip flexed
    on average by ``flexion_deg``, 5 s standing; sensor frame = thigh frame (x forward, y to the body's
    left, z knee-to-hip). Returns gravity, activity codes and the lateral direction (truth)."""
    t = np.arange(0.0, 30.0, 1 / FS)
    walk = (t >= 5) & (t < 25)
    flex = np.where(walk, flexion_deg + 20.0 * np.sin(2 * np.pi * 0.9 * t), 0.0)
    # flexion turns the thigh about the body's right axis (-y); "up" in the thigh frame turns the other way
    thigh = Rotation.from_rotvec(np.radians(flex)[:, None] * np.array([0.0, -1.0, 0.0]))
    up = thigh.inv().apply([0.0, 0.0, 1.0])
    lateral = np.array([0.0, -1.0, 0.0])
    if side == "left":  # the mirror image: y flips
        up = up * np.array([1.0, -1.0, 1.0])
        lateral = -lateral
    act = np.where(walk, 2, 0).astype(np.int8)
    return up, act, lateral


@pytest.mark.parametrize("side", ["left", "right"])
def test_lateral_axis_from_the_mean_flexion_of_walking(side: str) -> None:
    up, act, truth = _gait(side)
    thigh_axis = up[act == 2].mean(axis=0)
    thigh_axis /= np.linalg.norm(thigh_axis)
    lateral, standing, flexion = lateral_axis(up, act, thigh_axis, side, FS, P)
    assert lateral is not None and standing is not None and flexion is not None
    assert float(lateral @ truth) > 0.99
    assert flexion == pytest.approx(10.0, abs=1.5)
    # lying on the sensor leg puts its outer face down; standing abduction moves the knee outwards
    assert lying_on_sensor_leg(-truth, lateral) and not lying_on_sensor_leg(truth, lateral)
    gravity = np.tile([0.0, 0.0, 1.0], (100, 1))
    gravity[20:] = Rotation.from_rotvec(np.radians(15.0) * np.array([1.0, 0.0, 0.0])).apply(gravity[20:])
    rep = _cand(0.0, 15.0, dur_s=1.5)  # its top is at sample 30
    moved = gravity[30] - gravity[0]
    assert knee_moves_inward([rep], gravity, 0, lateral) == bool(moved @ lateral < 0)
    # no side, no lateral axis
    assert lateral_axis(up, act, thigh_axis, None, FS, P)[0] is None
