"""Step 5: rep detection and 5%-of-peak phase boundaries."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from processing.params import AnalysisParams
from processing.reps import choose_polarity, detect_reps
from processing.sets import accept_set

FS = 50.0
P = AnalysisParams()


def _angle(make_reps: Any, **kw: Any) -> tuple[np.ndarray, np.ndarray, list[Any]]:
    t = np.arange(0.0, kw.pop("dur", 60.0), 1 / FS)
    ang, truth = make_reps(t, **kw)
    return t, ang, truth


def test_phase_boundaries_follow_the_5_percent_convention(make_reps: Any) -> None:
    _t, ang, truth = _angle(
        make_reps, t0=3.0, n_reps=6, rom_deg=30.0, con_s=1.2, hold_s=1.5, ecc_s=2.0, pause_s=1.0
    )
    speed = np.gradient(ang) * FS
    reps, q = detect_reps(ang, speed, FS, P)
    assert q["polarity"] == 1
    assert len(reps) == 6
    for r, tr in zip(reps, truth, strict=True):
        assert r.start / FS == pytest.approx(tr.start_s, abs=0.03)
        assert r.top_start / FS == pytest.approx(tr.top_start_s, abs=0.03)
        assert r.top_end / FS == pytest.approx(tr.top_end_s, abs=0.03)
        assert r.end / FS == pytest.approx(tr.end_s, abs=0.03)
        assert r.rom_deg == pytest.approx(30.0, abs=0.5)


def test_inverted_signal_is_detected_with_negative_polarity(make_reps: Any) -> None:
    _, ang, truth = _angle(
        make_reps,
        t0=3.0,
        n_reps=5,
        rom_deg=[30, 31, 29, 24, 27],
        con_s=1.0,
        hold_s=0.5,
        ecc_s=1.5,
        pause_s=2.0,
    )
    reps, q = detect_reps(-ang, -np.gradient(ang) * FS, FS, P)
    assert q["polarity"] == -1
    assert [round(r.start / FS, 1) for r in reps] == [round(tr.start_s, 1) for tr in truth]


def test_polarity_from_rest_consistency_even_when_edges_mislead(make_reps: Any) -> None:
    # the window starts in another posture (far below) and the tops vary with effort: bottoms are the rest
    _, ang, _ = _angle(
        make_reps,
        t0=5.0,
        n_reps=6,
        rom_deg=[35, 30, 38, 28, 33, 26],
        con_s=1.0,
        hold_s=1.0,
        ecc_s=1.0,
        pause_s=1.0,
    )
    ang = ang.copy()
    ang[: int(2 * FS)] = 60.0  # a posture change before the set, above the tops
    assert choose_polarity(ang, FS) == 1


def test_a_wobble_during_the_hold_does_not_split_the_rep(make_reps: Any) -> None:
    t, ang, truth = _angle(
        make_reps, t0=3.0, n_reps=4, rom_deg=30.0, con_s=1.2, hold_s=3.0, ecc_s=1.5, pause_s=1.0
    )
    wobble = 4.5 * np.exp(-(((t - (truth[1].top_start_s + 1.5)) / 0.25) ** 2))
    ang = ang - wobble
    reps, _ = detect_reps(ang, np.gradient(ang) * FS, FS, P)
    assert len(reps) == 4


def test_small_wiggles_are_not_reps(rng: np.random.Generator) -> None:
    t = np.arange(0, 30, 1 / FS)
    ang = 1.8 * np.sin(2 * np.pi * 0.3 * t) + rng.normal(0, 0.2, t.size)
    reps, _ = detect_reps(ang, np.gradient(ang) * FS, FS, P)
    kept, q = accept_set(reps, np.zeros(t.size, dtype=bool), P)
    assert kept == []
    assert q["verdict"] == "too_few_reps"


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    con=st.floats(0.6, 3.0),
    hold=st.floats(0.0, 3.0),
    ecc=st.floats(0.6, 3.5),
    pause=st.floats(0.3, 3.0),
    rom=st.floats(10.0, 50.0),
    n=st.integers(3, 8),
)
def test_segmentation_invariants(
    make_reps: Any, con: float, hold: float, ecc: float, pause: float, rom: float, n: int
) -> None:
    """Every rep is found; boundaries are ordered, reps do not overlap, phases match the truth."""
    t = np.arange(0.0, 3.0 + n * (con + hold + ecc + pause) + 3.0, 1 / FS)
    ang, truth = make_reps(t, t0=3.0, n_reps=n, rom_deg=rom, con_s=con, hold_s=hold, ecc_s=ecc, pause_s=pause)
    reps, _ = detect_reps(ang, np.gradient(ang) * FS, FS, P)
    assert len(reps) == n
    prev_end = -1.0
    for r, tr in zip(reps, truth, strict=True):
        assert prev_end <= r.start <= r.top_start <= r.top_end <= r.end
        prev_end = r.end
        assert (r.top_start - r.start) / FS == pytest.approx(tr.top_start_s - tr.start_s, abs=0.06)
        assert (r.end - r.top_end) / FS == pytest.approx(tr.end_s - tr.top_end_s, abs=0.06)


@pytest.mark.parametrize("sign", [1.0, -1.0])
def test_detect_reps_reusing_polarity_peaks_equals_forced_polarity(make_reps: Any, sign: float) -> None:
    # detect_reps reuses the peaks found while choosing the polarity: same reps as with it given
    _t, ang, _truth = _angle(
        make_reps, t0=3.0, n_reps=6, rom_deg=20.0, con_s=1.0, hold_s=0.5, ecc_s=1.5, pause_s=1.0
    )
    ang = sign * ang + 0.3 * np.sin(np.arange(ang.size) / 7.0)
    speed = np.gradient(ang) * FS
    auto = detect_reps(ang, speed, FS, P)
    forced = detect_reps(ang, speed, FS, P, polarity=choose_polarity(ang, FS, P.min_rom_deg))
    assert auto == forced
    assert auto[1]["polarity"] == int(sign)


def _crossings_reference(v: np.ndarray, lo: int, hi: int, thr: float) -> tuple[float | None, float | None]:
    # the flatnonzero definitions the helpers replaced
    idx = np.flatnonzero(v[lo : hi + 1] < thr)
    if idx.size == 0:
        return None, None
    j = lo + int(idx[-1])
    last = (
        float(j)
        if j + 1 > hi
        else (j + float((thr - v[j]) / (v[j + 1] - v[j])) if v[j + 1] != v[j] else float(j))
    )
    i = lo + int(idx[0])
    first = (
        float(i)
        if i == lo
        else (i - 1 + float((v[i - 1] - thr) / (v[i - 1] - v[i])) if v[i - 1] != v[i] else float(i))
    )
    return last, first


def test_crossing_helpers_match_the_flatnonzero_definition(rng: np.random.Generator) -> None:
    from processing.reps import _first_below, _last_below

    for _ in range(500):
        v = rng.normal(size=int(rng.integers(1, 30)))
        lo = int(rng.integers(0, v.size))
        hi = int(rng.integers(lo, v.size))
        thr = float(rng.normal())
        assert (_last_below(v, lo, hi, thr), _first_below(v, lo, hi, thr)) == _crossings_reference(
            v, lo, hi, thr
        )
