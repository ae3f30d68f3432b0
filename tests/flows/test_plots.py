"""flows.plots: the pure helpers behind the notebooks (matching, tilt, tables); plots label their units."""

from __future__ import annotations

import numpy as np
import pytest
from matplotlib.figure import Figure

from flows import plots
from hipsync.records import Exercise, ExerciseSet, Recording, Rep, SessionAnalysis, Side


def _rep(start: float, top_start: float, top_end: float, end: float, rom: float = 40.0) -> Rep:
    return Rep(start_s=start, top_start_s=top_start, top_end_s=top_end, end_s=end, rom_deg=rom)


def test_match_reps_pairs_by_overlap_and_measures_errors() -> None:
    truth = [_rep(0, 1, 2, 3), _rep(5, 6, 7, 8), _rep(10, 11, 12, 13)]
    # first rep detected 0.1 s late at every boundary, second missed, one extra far away
    detected = [_rep(0.1, 1.1, 2.1, 3.1, rom=42.0), _rep(10, 11.5, 12, 13), _rep(20, 21, 22, 23)]
    m = plots.match_reps(truth, detected)
    assert m.pairs == ((0, 0), (2, 1))
    assert (m.n_true, m.n_detected, m.missed, m.extra) == (3, 3, 1, 1)
    np.testing.assert_allclose(m.boundary_error_s["start"], [0.1, 0.0])
    np.testing.assert_allclose(m.phase_error_s["concentric"], [0.0, 0.5])
    np.testing.assert_allclose(m.phase_error_s["top_hold"], [0.0, -0.5])
    np.testing.assert_allclose(m.rom_error_deg, [2.0, 0.0])


def test_match_reps_is_one_to_one() -> None:
    # two detected reps inside one true rep: only the better overlap is paired
    truth = [_rep(0, 1, 2, 4)]
    detected = [_rep(0, 0.5, 1, 1.5), _rep(0.2, 1, 2, 3.8)]
    m = plots.match_reps(truth, detected)
    assert m.pairs == ((0, 1),) and m.extra == 1


def test_analysis_from_json_round_trips_the_analyze_shape() -> None:
    doc = {
        "sets": [
            {
                "exercise": "clamshell",
                "side": "left",
                "start": 1.0,
                "end": 9.0,
                "load": "band:red",  # simulator truth carries it; ignored
                "reps": [{"start": 1.0, "top_start": 2.0, "top_end": 2.5, "end": 4.0, "rom_deg": 35.0}],
            }
        ]
    }
    a = plots.analysis_from_json(doc)
    (s,) = a.sets
    assert s.exercise is Exercise.CLAMSHELL and s.side is Side.LEFT and s.end_s == 9.0
    assert plots.reps_from_json(doc) == list(s.reps)


def test_thigh_tilt_follows_a_known_rotation() -> None:
    fs_hz = 50.0
    t = np.arange(0, 20, 1 / fs_hz)
    # still for most of the time (the median pose), raised to 30 deg between 8 and 12 s
    angle = np.where((t > 8) & (t < 12), 30.0, 0.0)
    rad = np.radians(angle)
    acc = np.column_stack([np.sin(rad), np.zeros_like(t), np.cos(rad)])
    rec = Recording(time_s=t, accel_g=acc, fs_hz=fs_hz)
    tilt = plots.thigh_tilt_deg(rec)
    assert tilt.shape == t.shape
    assert tilt[(t > 9) & (t < 11)] == pytest.approx(30.0, abs=0.1)
    assert tilt[t < 5] == pytest.approx(0.0, abs=0.1)


def test_rep_table_has_tempo_and_rom_per_rep() -> None:
    s = ExerciseSet(
        exercise=Exercise.CLAMSHELL,
        side=Side.RIGHT,
        start_s=0.0,
        end_s=10.0,
        reps=(_rep(0, 1, 1.5, 3, rom=40.0), _rep(4, 5.2, 5.5, 7, rom=44.0)),
    )
    rows = plots.rep_table(SessionAnalysis(sets=(s,), algorithm_version="t"))
    assert [r["rep"] for r in rows] == [1, 2]
    assert rows[0]["bottom_pause_s"] == 1.0 and rows[1]["bottom_pause_s"] is None
    assert rows[1]["concentric_s"] == 1.2 and rows[1]["tut_s"] == 3.0 and rows[1]["rom_deg"] == 44.0


def test_plots_label_their_units() -> None:
    t = np.arange(0, 10, 0.1)
    rec = Recording(time_s=t, accel_g=np.tile([0.0, 0.0, 1.0], (t.size, 1)), gyro_dps=np.zeros((t.size, 3)))
    fig = Figure()
    ax_acc, ax_gyro, ax_angle = fig.subplots(3, 1)
    plots.plot_raw(rec, ax_acc, ax_gyro)
    plots.plot_angle_with_sets(t, np.zeros_like(t), SessionAnalysis(sets=(), algorithm_version="t"), ax_angle)
    assert "(g)" in ax_acc.get_ylabel() and "(deg/s)" in ax_gyro.get_ylabel()
    assert "(deg)" in ax_angle.get_ylabel() and "(s)" in ax_gyro.get_xlabel()
    ax = Figure().subplots()
    plots.plot_timing_errors({"start": np.array([0.1, -0.1])}, ax)
    assert "(s)" in ax.get_ylabel()


@pytest.mark.parametrize("exercise", ["clamshell", "banded_abduction_seated"])
def test_set_angle_recovers_the_true_rom(exercise: str) -> None:
    # seated abduction turns about the vertical: gravity tilt cannot see it, the set angle must
    from simulate import SessionSpec, simulate_session

    sim = simulate_session(3, spec=SessionSpec.quick(exercise, n_reps=5, sets=1, fs_hz=50.0))
    rec = Recording(time_s=sim.time_s, accel_g=sim.accel_g, gyro_dps=sim.gyro_dps, fs_hz=sim.fs_hz)
    (s,) = plots.analysis_from_json(sim.truth).sets
    t, angle = plots.set_angle_deg(rec, s)
    measured = [
        angle[(t >= r.start_s) & (t <= r.end_s)].max() - np.interp(r.start_s, t, angle) for r in s.reps
    ]
    np.testing.assert_allclose(measured, [r.rom_deg for r in s.reps], atol=3.0)


def test_set_numbers_on_the_angle_plot_never_overlap() -> None:
    # Twelve short sets packed into the first minute of a 20-minute session: on one row their numbers
    # would collide, so some go on rows below.
    t = np.arange(0, 1200, 0.5)
    sets = tuple(
        ExerciseSet(
            exercise=Exercise.CLAMSHELL if k % 2 else Exercise.SINGLE_LEG_GLUTE_BRIDGE,
            side=Side.LEFT,
            start_s=5.0 * k,
            end_s=5.0 * k + 4.0,
            reps=(_rep(5.0 * k, 5.0 * k + 1, 5.0 * k + 2, 5.0 * k + 3),),
        )
        for k in range(12)
    )
    fig = Figure(figsize=(8, 3))
    ax = fig.subplots()
    plots.plot_angle_with_sets(t, np.sin(t), SessionAnalysis(sets=sets, algorithm_version="t"), ax)
    labels = [a for a in ax.texts if a.get_text().isdigit()]
    assert sorted(int(a.get_text()) for a in labels) == list(range(1, 13))
    boxes = [a.get_window_extent() for a in labels]
    assert not any(a.overlaps(b) for i, a in enumerate(boxes) for b in boxes[i + 1 :])
    assert len({round(b.y0) for b in boxes}) > 1  # stacked on several rows
    top = max(b.y1 for b in boxes)
    assert top <= ax.get_window_extent().y1  # inside the axes
    legend = ax.get_legend()
    assert legend is not None
    assert [x.get_text() for x in legend.get_texts()] == ["single-leg glute bridge", "clamshell"]


def test_left_right_with_one_leg_draws_one_series_and_says_so() -> None:
    table = {
        "exercise": ["clamshell", "single_leg_glute_bridge"],
        "side": ["left", "left"],
        "n": [30.0, 20.0],
    }
    ax = Figure().subplots()
    plots.plot_left_right(table, "n", ax, ylabel="reps (count)")
    legend = ax.get_legend()
    assert legend is not None and [x.get_text() for x in legend.get_texts()] == ["left leg"]
    assert len(ax.patches) == 2 and "only the left leg" in ax.get_title()
    assert [x.get_text() for x in ax.get_xticklabels()] == ["clamshell", "single-leg\nglute bridge"]


def test_load_units_in_a_fixed_order() -> None:
    assert plots.load_units({"load_unit": ["kg", None, "band_level", "kg"]}) == ["band_level", "kg"]
