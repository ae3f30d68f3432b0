"""Recording.of: a simulated session (or anything shaped like one) as the analysis' input record."""

from __future__ import annotations

from datetime import UTC, datetime

from hipsync.records import Recording, Side
from simulate import SessionSpec, simulate_session


def test_recording_of_a_simulated_session_keeps_arrays_side_and_start() -> None:
    spec = SessionSpec(exercises=("clamshell",), sets_per_exercise=1, reps_per_set=(4, 4), walking=False)
    sim = simulate_session(3, spec=spec)
    rec = Recording.of(sim, profile="simulated")
    assert rec.time_s is sim.time_s and rec.accel_g is sim.accel_g and rec.gyro_dps is sim.gyro_dps
    assert (rec.fs_hz, rec.profile, rec.started_at) == (sim.fs_hz, "simulated", sim.started_at)
    assert rec.side is Side(sim.side)
    assert isinstance(rec.started_at, datetime) and rec.started_at.tzinfo is UTC
    assert Recording.of(sim).profile is None
