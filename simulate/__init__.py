"""Simulated thigh-IMU recordings of hip-training sessions and programs, with exact ground truth.

Pure NumPy/SciPy. Entry points: :func:`simulate_session` and :func:`simulate_program`.
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

__all__ = [
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
    "WeekPlan",
    "draw_person",
    "program_to_json",
    "simulate_program",
    "simulate_session",
]
