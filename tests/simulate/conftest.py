"""Shared simulated sessions for the simulator tests (built once per test run: they cost ~1 s each)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from simulate import SensorSpec, SessionSpec, SimulatedSession, simulate_session
from simulate.body import EXERCISES

ALL_EXERCISES = tuple(str(e) for e in EXERCISES)


def ideal_full_spec(*, side: str, strap: int, tilt_deg: float = 12.0) -> SessionSpec:
    """Every exercise once, with the other leg's sets, walking, short rests; a perfect sensor."""
    return SessionSpec(
        exercises=ALL_EXERCISES,
        sets_per_exercise=1,
        reps_per_set=(6, 6),
        walking=True,
        both_sides=True,
        rest_s=(5.0, 8.0),
        fs_hz=50.0,
        side=side,
        sensor=SensorSpec.ideal(strap_rotation_deg=strap, tilt_deg=tilt_deg),
    )


@pytest.fixture(scope="session")
def ideal_right() -> SimulatedSession:
    return simulate_session(101, spec=ideal_full_spec(side="right", strap=90))


@pytest.fixture(scope="session")
def ideal_left() -> SimulatedSession:
    return simulate_session(102, spec=ideal_full_spec(side="left", strap=270))


@pytest.fixture(scope="session")
def realistic() -> SimulatedSession:
    """A realistic sensor (noise, bias, drift, lost frames) on the same kind of session."""
    spec = SessionSpec(
        exercises=ALL_EXERCISES,
        sets_per_exercise=1,
        reps_per_set=(8, 8),
        rest_s=(5.0, 8.0),
        fs_hz=100.0,
        side="left",
        sensor=SensorSpec(drop_runs_per_min=3.0, clock_drift_ppm=2500.0),
    )
    return simulate_session(103, spec=spec)


def _segment_mask(session: SimulatedSession, seg: dict[str, Any], trim_s: float = 0.0) -> np.ndarray:
    start = float(seg["start"]) + trim_s
    end = float(seg["end"]) - trim_s
    return (session.time_s >= start) & (session.time_s < end)


@pytest.fixture(scope="session")
def segment_mask() -> Callable[..., np.ndarray]:
    """``segment_mask(session, seg, trim_s=0)``: samples of ``session`` inside a truth segment."""
    return _segment_mask
