"""Simulated thigh-IMU recordings of hip-training sessions and programs, with exact ground truth.

Pure NumPy/SciPy. Entry points: :func:`simulate_session` and :func:`simulate_program`; the wide
population (people, sets and sensors as varied as real ones) is ``SessionSpec.wide()``, evaluated on
:data:`HELD_OUT_SEEDS`.
"""

from hipsync.records import Exercise
from simulate.activities import Person, draw_person
from simulate.body import Posture
from simulate.program import PlanTarget, SimulatedProgram, WeekPlan, program_to_json, simulate_program
from simulate.reps import Tempo
from simulate.sensor import SensorSpec
from simulate.session import (
    SIMULATOR_VERSION,
    SessionSpec,
    SimulatedSession,
    SimulationError,
    simulate_session,
)
from simulate.variation import HELD_OUT_SEEDS, Variation

__all__ = [
    "HELD_OUT_SEEDS",
    "SIMULATOR_VERSION",
    "Exercise",
    "Person",
    "PlanTarget",
    "Posture",
    "SensorSpec",
    "SessionSpec",
    "SimulatedProgram",
    "SimulatedSession",
    "SimulationError",
    "Tempo",
    "Variation",
    "WeekPlan",
    "draw_person",
    "program_to_json",
    "simulate_program",
    "simulate_session",
]
