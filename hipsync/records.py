"""Typed records that cross module boundaries: a recording in, an analysis out.

Frames and units
----------------
- ``time_s``: seconds on the recording's own time axis (the file's or spool's), float64, shape (n,).
- ``accel_g``: specific force in g, sensor frame, shape (n, 3).
- ``gyro_dps``: angular rate in deg/s, sensor frame, shape (n, 3), or ``None`` for accelerometer-only sensors.

The JSON produced by :func:`analysis_to_json` is exactly the shape of ``hipsync analyze --json`` and of the
simulator's ground-truth files, so the two can be compared key by key.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    # Annotations only: the records themselves never call NumPy, so the commands that only need the
    # enums (plan, sessions, sensors) start without importing it (~0.5 s).
    import numpy as np
    import numpy.typing as npt

    FloatArray = npt.NDArray[np.float64]


class Exercise(enum.StrEnum):
    """The five hip exercises hipsync recognises, plus ``unknown`` when it cannot tell."""

    CLAMSHELL = "clamshell"
    SIDE_LYING_LEG_RAISE = "side_lying_leg_raise"
    BANDED_ABDUCTION_STANDING = "banded_abduction_standing"
    BANDED_ABDUCTION_SEATED = "banded_abduction_seated"
    SINGLE_LEG_GLUTE_BRIDGE = "single_leg_glute_bridge"
    UNKNOWN = "unknown"


class Side(enum.StrEnum):
    """Which thigh the sensor is on (or which leg trained)."""

    LEFT = "left"
    RIGHT = "right"


class RecordingError(ValueError):
    """A recording's arrays are inconsistent (shapes, units, non-finite values)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Recording:
    """One sensor's samples, the input of every analysis step.

    Timestamps may be irregular and contain gaps or duplicates; cleaning is the analysis' job.
    ``started_at`` is the UTC wall-clock time of ``time_s == 0`` when known.
    """

    time_s: FloatArray
    accel_g: FloatArray
    gyro_dps: FloatArray | None = None
    fs_hz: float | None = None
    side: Side | None = None
    profile: str | None = None
    started_at: datetime | None = None

    def __post_init__(self) -> None:
        n = self.time_s.shape[0] if self.time_s.ndim == 1 else -1
        if n < 0:
            raise RecordingError(f"time_s must be 1-D, got shape {self.time_s.shape}")
        if self.accel_g.shape != (n, 3):
            raise RecordingError(f"accel_g must have shape ({n}, 3), got {self.accel_g.shape}")
        if self.gyro_dps is not None and self.gyro_dps.shape != (n, 3):
            raise RecordingError(f"gyro_dps must have shape ({n}, 3), got {self.gyro_dps.shape}")
        if self.fs_hz is not None and not self.fs_hz > 0:
            raise RecordingError(f"fs_hz must be positive, got {self.fs_hz}")

    @property
    def n_samples(self) -> int:
        return int(self.time_s.shape[0])

    @property
    def has_gyro(self) -> bool:
        return self.gyro_dps is not None

    @property
    def duration_s(self) -> float:
        return float(self.time_s[-1] - self.time_s[0]) if self.n_samples else 0.0

    @classmethod
    def of(cls, sensor_data: SensorData, *, profile: str | None = None) -> Recording:
        """The recording of anything shaped like one, e.g. a ``simulate.SimulatedSession`` (same units)."""
        return cls(
            time_s=sensor_data.time_s,
            accel_g=sensor_data.accel_g,
            gyro_dps=sensor_data.gyro_dps,
            fs_hz=sensor_data.fs_hz,
            side=None if sensor_data.side is None else Side(sensor_data.side),
            profile=profile,
            started_at=sensor_data.started_at,
        )


class SensorData(Protocol):
    """What :meth:`Recording.of` reads: arrays in s, g and deg/s, the rate in Hz, ``side`` as text."""

    @property
    def time_s(self) -> FloatArray: ...
    @property
    def accel_g(self) -> FloatArray: ...
    @property
    def gyro_dps(self) -> FloatArray | None: ...
    @property
    def fs_hz(self) -> float: ...
    @property
    def side(self) -> str | None: ...
    @property
    def started_at(self) -> datetime | None: ...


@dataclass(frozen=True, slots=True, kw_only=True)
class TempoPhases:
    """Durations of one rep's phases in seconds (5%-of-peak-speed convention).

    ``bottom_pause_s`` is the time from this rep's end to the next rep's start in the same set,
    ``None`` for the last rep of a set.
    """

    concentric_s: float
    top_hold_s: float
    eccentric_s: float
    bottom_pause_s: float | None

    @property
    def time_under_tension_s(self) -> float:
        return self.concentric_s + self.top_hold_s + self.eccentric_s


@dataclass(frozen=True, slots=True, kw_only=True)
class Rep:
    """One repetition; times in seconds on the recording's time axis, ``rom_deg`` in degrees."""

    start_s: float
    top_start_s: float
    top_end_s: float
    end_s: float
    rom_deg: float
    partial: bool = False
    peak_concentric_speed_dps: float | None = None

    def phases(self, next_start_s: float | None = None) -> TempoPhases:
        return TempoPhases(
            concentric_s=self.top_start_s - self.start_s,
            top_hold_s=self.top_end_s - self.top_start_s,
            eccentric_s=self.end_s - self.top_end_s,
            bottom_pause_s=None if next_start_s is None else next_start_s - self.end_s,
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class ExerciseVote:
    """The exercise recogniser's verdict on one set, with its score for every exercise.

    ``scores``: how well the set's geometry and range fit each of the five exercises, 0-1 each (a likelihood,
    not a probability: they need not sum to 1; a later step may weigh them with the user's plan).
    ``exercise``: the best-scoring exercise, or ``unknown`` when the best does not stand out;
    ``confidence``: 0-1, the best score's share of all scores (see ``docs/processing.md``); ``reason``: one
    line in the user's words.
    """

    exercise: Exercise
    confidence: float
    scores: Mapping[Exercise, float]
    reason: str


@dataclass(frozen=True, slots=True, kw_only=True)
class ExerciseSet:
    """A set: consecutive reps of one exercise by one leg.

    ``exercise_confidence`` (0-1) and ``exercise_reason`` come from the recogniser's
    :class:`ExerciseVote`, ``exercise_scores`` are its scores for every exercise; a set whose exercise was
    given rather than recognised keeps the defaults (confidence 1, no reason, no scores).
    """

    exercise: Exercise
    side: Side | None
    start_s: float
    end_s: float
    reps: tuple[Rep, ...]
    velocity_loss: float | None = None
    tempo_consistency: float | None = None
    exercise_confidence: float = 1.0
    exercise_reason: str = ""
    exercise_scores: Mapping[Exercise, float] = field(default_factory=dict)

    def tempo(self) -> list[TempoPhases]:
        """Phase durations of every rep, the bottom pause measured to the next rep."""
        nxt: list[float | None] = [r.start_s for r in self.reps[1:]]
        nxt.append(None)
        return [r.phases(n) for r, n in zip(self.reps, nxt, strict=True)]


@dataclass(frozen=True, slots=True, kw_only=True)
class SessionAnalysis:
    """Everything the analysis found in one recording, with the version and parameters that produced it."""

    sets: tuple[ExerciseSet, ...]
    algorithm_version: str
    parameters: dict[str, Any] = field(default_factory=dict)
    quality: dict[str, Any] = field(default_factory=dict)


def analysis_to_json(analysis: SessionAnalysis) -> dict[str, Any]:
    """The ``hipsync analyze --json`` document (times in s on the recording's own axis)."""
    return {
        "sets": [
            {
                "exercise": str(s.exercise),
                "side": None if s.side is None else str(s.side),
                "start": round(s.start_s, 4),
                "end": round(s.end_s, 4),
                "velocity_loss": None if s.velocity_loss is None else round(s.velocity_loss, 4),
                "exercise_confidence": round(s.exercise_confidence, 3),
                "exercise_reason": s.exercise_reason,
                "exercise_scores": {str(e): round(v, 4) for e, v in s.exercise_scores.items()},
                "reps": [
                    {
                        "start": round(r.start_s, 4),
                        "top_start": round(r.top_start_s, 4),
                        "top_end": round(r.top_end_s, 4),
                        "end": round(r.end_s, 4),
                        "rom_deg": round(r.rom_deg, 2),
                        "partial": bool(r.partial),
                    }
                    for r in s.reps
                ],
            }
            for s in analysis.sets
        ]
    }
