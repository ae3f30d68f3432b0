"""Steps 4 and 7: set acceptance, velocity loss and tempo consistency (step 6: test_exercise.py)."""

from __future__ import annotations

import numpy as np
import pytest

from hipsync.records import Rep
from processing.metrics import tempo_consistency, velocity_loss
from processing.params import AnalysisParams
from processing.reps import RepCandidate
from processing.sets import accept_set, find_candidate_windows, group_reps, robust_cv

FS = 50.0
P = AnalysisParams()


def _cand(start_s: float, rom: float, dur_s: float = 4.0, speed: float = 30.0) -> RepCandidate:
    s = start_s * FS
    return RepCandidate(
        start=s,
        top_start=s + 0.3 * dur_s * FS,
        top_end=s + 0.5 * dur_s * FS,
        end=s + dur_s * FS,
        rom_deg=rom,
        return_deg=rom,
        peak_concentric_dps=speed,
        peak_eccentric_dps=speed,
    )


NO_WALK = np.zeros(int(200 * FS), dtype=bool)


def test_robust_cv() -> None:
    assert robust_cv(np.array([10.0, 10.0, 10.0])) == 0.0
    assert robust_cv(np.array([10.0, 11.0, 9.0, 10.0])) == pytest.approx(1.4826 * 0.5 / 10.0)


def test_regular_reps_make_a_set() -> None:
    kept, q = accept_set([_cand(5 * i, 30 + (i % 3)) for i in range(8)], NO_WALK, P)
    assert len(kept) == 8 and q["verdict"] == "set"


def test_irregular_small_excursions_are_not_a_set() -> None:
    # a passive leg: small excursions of irregular size (as the still side of the real MEx clams)
    roms = [10.9, 13.7, 13.0, 7.2, 7.4, 7.1, 5.6, 5.6, 6.5, 8.4, 10.0, 7.4, 5.8]
    kept, q = accept_set([_cand(5 * i, r) for i, r in enumerate(roms)], NO_WALK, P)
    assert kept == [] and q["verdict"] == "irregular_rom"


def test_too_few_reps_and_small_rom() -> None:
    assert accept_set([_cand(0, 30), _cand(5, 30)], NO_WALK, P)[1]["verdict"] == "too_few_reps"
    kept, q = accept_set([_cand(5 * i, 3.0) for i in range(8)], NO_WALK, P)
    assert kept == [] and q["verdict"] == "too_few_reps"  # 3 deg is below min_rom_deg for every rep


def test_a_posture_change_caught_in_the_window_is_pruned() -> None:
    cands = [_cand(5 * i, 30) for i in range(6)] + [_cand(40, 85)]
    kept, q = accept_set(cands, NO_WALK, P)
    assert len(kept) == 6 and q["verdict"] == "set"


def test_reps_during_walking_are_dropped() -> None:
    walking = np.zeros(int(100 * FS), dtype=bool)
    walking[: int(30 * FS)] = True
    kept, _ = accept_set([_cand(5 * i, 30) for i in range(12)], walking, P)
    assert all(k.start >= 30 * FS - 1 for k in kept)


def test_group_reps_splits_on_long_pauses_and_range_changes() -> None:
    a = [_cand(5 * i, 30) for i in range(5)]
    b = [_cand(60 + 5 * i, 30) for i in range(4)]  # 36 s pause
    c = [_cand(80 + 5 * i, 8) for i in range(4)]  # same rhythm, another movement seen through this axis
    groups = group_reps(a + b + c, FS, P)
    assert [len(g) for g in groups] == [5, 4, 4]


def test_candidate_windows_merge_short_pauses_but_not_walking() -> None:
    act = np.zeros(int(120 * FS), dtype=np.int8)
    act[int(10 * FS) : int(20 * FS)] = 1
    act[int(24 * FS) : int(30 * FS)] = 1  # 4 s pause: same window
    act[int(30 * FS) : int(40 * FS)] = 2  # walking
    act[int(41 * FS) : int(50 * FS)] = 1  # after walking: new window
    wins, _ = find_candidate_windows(act, FS, P)
    assert len(wins) == 2
    assert wins[0].start / FS == pytest.approx(6.0) and wins[0].stop <= 30 * FS
    assert not (act[wins[1].start : wins[1].stop] == 2).any()


def _rep(start: float, con: float, rom: float = 30.0, partial: bool = False) -> Rep:
    return Rep(
        start_s=start,
        top_start_s=start + con,
        top_end_s=start + con + 1,
        end_s=start + con + 3,
        rom_deg=rom,
        partial=partial,
    )


def test_velocity_loss_definition() -> None:
    # mean concentric speeds 30, 30, 20 (best 30) ... last two 15, 10 -> 1 - 12.5/30
    reps = [_rep(0, 1.0), _rep(10, 1.0), _rep(20, 1.5), _rep(30, 1.5), _rep(40, 2.0), _rep(50, 3.0)]
    assert velocity_loss(reps) == pytest.approx(1 - 12.5 / 30)
    assert velocity_loss(reps[:3]) is None
    # partial reps are left out on both sides
    with_partial = [*reps, _rep(60, 5.0, rom=10.0, partial=True)]
    assert velocity_loss(with_partial) == pytest.approx(1 - 12.5 / 30)
    # never negative (getting faster is no loss)
    assert velocity_loss(list(reversed([_rep(10 * i, 1.0 + i * 0.2) for i in range(6)]))) == 0.0


def test_tempo_consistency() -> None:
    same = [_rep(10 * i, 1.0) for i in range(5)]
    assert tempo_consistency(same) == pytest.approx(1.0)
    varied = [_rep(0, 1.0), _rep(10, 3.0), _rep(20, 1.0), _rep(30, 3.0)]
    assert tempo_consistency(varied) is not None and tempo_consistency(varied) < 0.85  # type: ignore[operator]
    assert tempo_consistency(same[:2]) is None


def test_mean_of_three_equals_numpy(rng: np.random.Generator) -> None:
    from processing.sets import _mean3

    x = rng.normal(size=(20000, 3)) * 10.0 ** rng.uniform(-3, 3, size=(20000, 1))
    assert all(_mean3(row.tolist()) == float(np.mean(row)) for row in x)
