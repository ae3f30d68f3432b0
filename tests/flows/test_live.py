"""The live rep view (flows.live): the tracker on hand-made analyses, the analyzer on a simulated session
replayed block by block, and ``hipsync record`` through the virtual sensor end to end."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from flows.live import LiveAnalyzer, LiveEvent, LiveRep, LiveSetEnd, RepTracker, rep_cues
from hipsync.records import Exercise, ExerciseSet, Rep, SessionAnalysis
from ingest.samples import SampleBlock


def _rep(start: float, *, up: float = 1.0, top: float = 0.5, down: float = 1.5, rom: float = 40.0,
         speed: float = 60.0) -> Rep:  # fmt: skip
    return Rep(
        start_s=start,
        top_start_s=start + up,
        top_end_s=start + up + top,
        end_s=start + up + top + down,
        rom_deg=rom,
        peak_concentric_speed_dps=speed,
    )


def _analysis(*reps: Rep, exercise: Exercise = Exercise.CLAMSHELL) -> SessionAnalysis:
    s = ExerciseSet(exercise=exercise, side=None, start_s=reps[0].start_s, end_s=reps[-1].end_s, reps=reps)
    return SessionAnalysis(sets=(s,), algorithm_version="test")


def test_each_rep_is_shown_once_across_overlapping_windows() -> None:
    tracker = RepTracker("s")
    reps = [_rep(10.0 + 5 * k) for k in range(6)]
    events: list[LiveEvent] = []
    # Window 1 (sensor time 0-30 s, i.e. t0 = 0) sees reps 0-3; window 2 (t0 = 5) sees reps 0-5 shifted,
    # with boundaries placed 0.1 s differently, as a new window does.
    events += tracker.update(_analysis(*reps[:4]), t0=0.0, data_end_s=30.0)
    moved = [_rep(r.start_s - 5.0 + 0.1) for r in reps]
    events += tracker.update(_analysis(*moved), t0=5.0, data_end_s=45.0)
    shown = [e for e in events if isinstance(e, LiveRep)]
    assert [e.rep_number for e in shown] == [1, 2, 3, 4, 5, 6]
    assert all(e.set_number == 1 and e.exercise == Exercise.CLAMSHELL for e in shown)
    assert shown[1].pause_before_s == pytest.approx(2.0)


def test_a_rep_still_moving_at_the_window_end_waits_for_the_next_pass() -> None:
    tracker = RepTracker("s", tail_s=0.5)
    rep = _rep(10.0)  # ends at 13.0
    assert tracker.update(_analysis(rep), t0=0.0, data_end_s=13.2) == []
    [event] = tracker.update(_analysis(rep), t0=0.0, data_end_s=14.0)
    assert isinstance(event, LiveRep)


def test_a_set_ends_after_a_quiet_spell_and_a_new_one_begins() -> None:
    tracker = RepTracker("s", set_gap_s=10.0, set_end_s=12.0)
    first = [_rep(10.0 + 5 * k, speed=60.0 - 10 * k) for k in range(4)]
    events = tracker.update(_analysis(*first), t0=0.0, data_end_s=30.0)
    assert tracker.current_set == (1, Exercise.CLAMSHELL, 4)
    events += tracker.update(_analysis(*first), t0=0.0, data_end_s=41.0)  # 13 s after the last rep
    ends = [e for e in events if isinstance(e, LiveSetEnd)]
    assert [(e.set_number, e.n_reps) for e in ends] == [(1, 4)]
    assert ends[0].velocity_loss == pytest.approx(1 - 35 / 55)  # the last two reps against the first two
    events = tracker.update(_analysis(_rep(30.0)), t0=30.0, data_end_s=70.0)  # at 60 s sensor time
    assert [(e.set_number, e.rep_number) for e in events if isinstance(e, LiveRep)] == [(2, 1)]


def test_cues_name_a_much_faster_rep_a_range_drop_and_velocity_loss() -> None:
    reference = [_rep(10.0 + 5 * k) for k in range(3)]  # 3.0 s under tension, 40 deg, 60 deg/s
    assert rep_cues(_rep(30.0), reference) == ((), "")
    words, text = rep_cues(_rep(30.0, up=0.5, top=0.2, down=0.6), reference)
    assert words == ("faster",) and "much faster" in text
    words, text = rep_cues(_rep(30.0, rom=25.0), reference)
    assert words == ("rom",) and "range down 38%" in text
    words, text = rep_cues(_rep(30.0, speed=30.0), reference)
    assert words == ("slower",) and "velocity loss" in text
    assert rep_cues(_rep(30.0, up=0.2, top=0.1, down=0.2), reference[:1]) == ((), "")  # no reference yet


@pytest.mark.slow
def test_a_simulated_session_replayed_live_shows_its_reps() -> None:
    """Block by block as the recorder delivers them: most true reps appear, in the right sets, each soon
    after it ended (the analysis places reps, so this is also an end-to-end check of the windowing)."""
    from simulate import simulate_session
    from simulate.session import SessionSpec

    session = simulate_session(4, spec=SessionSpec.quick())
    t, acc, gyr = session.time_s, session.accel_g, session.gyro_dps
    assert gyr is not None
    events: list[LiveEvent] = []
    live = LiveAnalyzer(events.append, interval_s=1.0)
    step = round(0.25 * session.fs_hz)
    next_pass = 1.0
    for i in range(0, t.size, step):
        sl = slice(i, i + step)
        live.observe("s", SampleBlock(kind="acc", sensor_time_s=t[sl], values=acc[sl]))
        live.observe("s", SampleBlock(kind="gyro", sensor_time_s=t[sl], values=gyr[sl]))
        if t[sl][-1] >= next_pass:
            live.analyse_now()
            next_pass += 1.0
    live.stop()
    truth_ends = np.array([r["end"] for s in session.truth["sets"] for r in s["reps"]])
    shown = [e for e in events if isinstance(e, LiveRep)]
    matched = [e for e in shown if np.min(np.abs(truth_ends - e.rep.end_s)) < 1.0]
    assert len(matched) >= 0.8 * truth_ends.size, (len(matched), truth_ends.size)
    assert len(shown) <= 1.1 * truth_ends.size
    later = [e for e in matched if e.rep_number >= 3]
    assert max(e.data_end_s - e.rep.end_s for e in later) < 3.0  # seconds of stream after the rep's end
    n_sets = len(session.truth["sets"])
    assert len([e for e in events if isinstance(e, LiveSetEnd)]) in range(n_sets - 1, n_sets + 2)
    assert live.stats.failures == 0


@pytest.mark.slow
def test_record_through_the_virtual_sensor_shows_reps_live(hipsync_home: Path) -> None:
    """``hipsync record`` on an emulated Verity Sense over bumble: rep lines and a set summary on stderr,
    and the recording itself is whole (the live view only reads)."""
    import json

    from hipsync.cli import app
    from ingest.ble.virtual_backend import reset_world

    try:
        r = CliRunner().invoke(
            app,
            ["record", "--virtual", "polar-verity-sense", "--duration", "12", "--time-scale", "4", "--json"],
        )
    finally:
        reset_world()
    assert r.exit_code == 0, r.output
    doc = json.loads(r.stdout)
    assert doc["samples"] == doc["expected_samples"] and doc["gaps"] == []
    # (the exercise's short name may be two words: "side raise")
    reps = re.findall(r"set 1 [a-z ]+ rep (\d+): up [\d.]+, top [\d.]+, down [\d.]+.* ROM \d+ deg", r.stderr)
    # 48 sensor seconds of 6 s raise-hold-lower-rest cycles: about 8 reps, each shown once, in order.
    assert [int(n) for n in reps] == list(range(1, len(reps) + 1)) and len(reps) >= 5
    assert re.search(rf"set 1 [a-z ]+ done: {len(reps)} reps, ROM \d+ deg", r.stderr)
