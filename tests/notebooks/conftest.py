"""Fixtures for the notebook tests: a small training program imported through the real writer API.

The simulator's ground truth is stored as the analysis, so the notebooks show known numbers whatever state
the detection algorithm is in (notebook 03 runs the algorithm itself).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from hipsync.records import Recording
from simulate import SessionSpec, simulate_session

# Monday 2026-11-02; the program runs three ISO weeks (W45-W47), Monday sensor on the left thigh,
# Thursday on the right, with one overload step per exercise (band red -> blue, ankle 1 kg -> 2 kg). In W47
# the user logs one leg-raise set of Monday as a green band: that week mixes band levels and kilograms.
PROGRAM_START = datetime(2026, 11, 2, 7, 30, tzinfo=UTC)
PROGRAM_WEEKS = 3


def program_specs(sides: tuple[str, ...] = ("left", "right")) -> list[tuple[int, SessionSpec]]:
    """(seed, spec) of each session: short simulated sessions, two exercises, two sets each; Monday on the
    first of ``sides``, Thursday on the last."""
    specs = []
    for week in range(PROGRAM_WEEKS):
        band = "band:red" if week < 2 else "band:blue"
        ankle = "ankle:1kg" if week < 1 else "ankle:2kg"
        for day, side in ((0, sides[0]), (3, sides[-1])):
            specs.append(
                (
                    100 + 10 * week + day,
                    SessionSpec(
                        exercises=("clamshell", "side_lying_leg_raise"),
                        sets_per_exercise=2,
                        reps_per_set=(6 + week, 7 + week),
                        loads={"clamshell": band, "side_lying_leg_raise": ankle},
                        side=side,
                        both_sides=False,
                        walking=False,
                        rest_s=(8.0, 12.0),
                        lead_s=(3.0, 5.0),
                        fs_hz=50.0,
                        started_at=PROGRAM_START + timedelta(days=7 * week + day),
                    ),
                )
            )
    return specs


def build_program_home(home: Path, sides: tuple[str, ...] = ("left", "right")) -> Path:
    """$HIPSYNC_HOME with a database of the program above, written by ``flows.imports.import_recording``,
    and the green band logged for W47's first leg-raise set (``storage.sessions.log_session``, as
    ``hipsync log`` does).

    The simulator's ground truth is stored as the analysis, so the notebooks show known numbers whatever
    state the detection algorithm is in (notebook 03 runs the algorithm itself).
    """
    from flows.imports import import_recording
    from flows.plots import analysis_from_json
    from storage.sessions import log_session

    db = home / "hipsync.duckdb"
    mixed_week: list[str] = []
    for seed, spec in program_specs(sides):
        sim = simulate_session(seed, spec=spec)
        rec = Recording.of(sim, profile="simulated")
        loads = [s["load"] for s in sim.truth["sets"]]
        truth = analysis_from_json(sim.truth, algorithm_version="simulator-truth")
        result = import_recording(db, rec, analysis=truth, loads=loads)
        assert result.status == "analysed", result
        if spec.started_at == PROGRAM_START + timedelta(days=7 * (PROGRAM_WEEKS - 1)):
            first_raise = 1 + [s["exercise"] for s in sim.truth["sets"]].index("side_lying_leg_raise")
            assert result.session_id is not None
            mixed_week = [result.session_id, str(first_raise)]
    log_session(db, mixed_week[0], int(mixed_week[1]), load="band:green")
    return home


@pytest.fixture(scope="session")
def program_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A HIPSYNC_HOME directory holding three weeks of simulated training (six sessions, both legs)."""
    return build_program_home(tmp_path_factory.mktemp("program-home"))


@pytest.fixture(scope="session")
def one_leg_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The same program trained with the left leg only."""
    return build_program_home(tmp_path_factory.mktemp("one-leg-home"), sides=("left",))
