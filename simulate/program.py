"""Multi-week training programs: schedule, double progression of resistance, and the sessions themselves.

The trainee has a strength per exercise that grows with every session done. Each week has a plan
(exercise -> sets x rep range at a resistance). In a session every set is taken as far as the strength
allows, up to the top of the rep range (reps climb week by week). When every set of an exercise
reached the top of the range in a session of the week, the next week steps the resistance up one level
and the reps drop back (double progression). Some planned sessions are missed.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import numpy as np

from hipsync.records import Exercise
from simulate.activities import Person, draw_person
from simulate.body import EXERCISES
from simulate.sensor import SensorSpec, draw_sensor
from simulate.session import (
    BAND_LEVELS,
    SessionSpec,
    SimulatedSession,
    SimulationError,
    simulate_session,
)

log = logging.getLogger(__name__)

ANKLE_KG = (0.5, 1.0, 1.5, 2.0, 3.0, 4.0, 5.0)
#: Reps to failure on day one with the starting resistance (people start with a band they can do ~12x).
R0_RANGE = (12.5, 15.5)
#: Rep range of every plan target (double progression climbs from the bottom to the top).
REPS_RANGE = (10, 15)


def resistance_ladder(exercise: Exercise) -> tuple[str, ...]:
    """Resistance levels for an exercise, lightest first (as users write them: band:red, ankle:1kg)."""
    if exercise is Exercise.SIDE_LYING_LEG_RAISE:
        return ("bodyweight", *(f"ankle:{kg:g}kg" for kg in ANKLE_KG))
    if exercise is Exercise.SINGLE_LEG_GLUTE_BRIDGE:
        return ("bodyweight", *(f"band:{b}" for b in BAND_LEVELS))
    return tuple(f"band:{b}" for b in BAND_LEVELS)


def load_factor(resistance: str) -> float:
    """Relative difficulty of a resistance (bodyweight = 1): band levels ~22 % apart, +25 % per ankle kg."""
    if resistance.startswith("band:"):
        return 1.0 + 0.22 * (BAND_LEVELS.index(resistance.removeprefix("band:")) + 1)
    if resistance.startswith("ankle:"):
        return 1.0 + 0.25 * float(resistance.removeprefix("ankle:").removesuffix("kg"))
    return 1.0


@dataclass(frozen=True, slots=True, kw_only=True)
class PlanTarget:
    """One exercise's target for a week: ``sets`` x ``reps_min``-``reps_max`` at ``resistance``."""

    sets: int
    reps_min: int
    reps_max: int
    resistance: str


@dataclass(frozen=True, slots=True, kw_only=True)
class WeekPlan:
    """The plan of program week ``week`` (1-based) starting on ``start_date`` (a Monday)."""

    week: int
    start_date: date
    targets: dict[str, PlanTarget]


@dataclass(frozen=True, slots=True, kw_only=True)
class ScheduledSession:
    """A planned training day: ``done`` or missed; ``session_index`` into ``SimulatedProgram.sessions``."""

    week: int
    day: date
    done: bool
    exercises: tuple[str, ...]
    session_index: int | None


@dataclass(frozen=True, slots=True, kw_only=True)
class SimulatedProgram:
    """A simulated program: the sessions done (chronological), the weekly plans and the full schedule."""

    seed: int
    weeks: int
    side: str
    sessions: list[SimulatedSession]
    plan: list[WeekPlan]
    schedule: list[ScheduledSession]
    person: Person = field(repr=False)


def _weekdays(rng: np.random.Generator, per_week: int) -> tuple[int, ...]:
    if per_week == 3:
        options: list[tuple[int, ...]] = [(0, 2, 4), (1, 3, 5), (0, 2, 5)]
    elif per_week == 2:
        options = [(0, 3), (1, 4), (2, 5), (1, 5)]
    else:
        raise SimulationError(f"sessions_per_week must be 2 or 3, got {per_week}")
    return options[int(rng.integers(0, len(options)))]


def _program_exercises(exercises: Sequence[str] | None, rng: np.random.Generator) -> list[Exercise]:
    if exercises is None:
        k = int(rng.integers(3, 5))
        return [Exercise(str(x)) for x in rng.permutation(list(EXERCISES))[:k]]
    try:
        return [Exercise(x) for x in exercises]
    except ValueError as err:
        raise SimulationError(str(err)) from err


def _device(sensor: SensorSpec | None, rng: np.random.Generator) -> SensorSpec:
    """One physical device for the whole program: its noise and biases stay, the strap is put on anew."""
    device = sensor or SensorSpec()
    d = draw_sensor(device, rng)
    return SensorSpec(
        strap_rotation_deg=device.strap_rotation_deg,
        tilt_deg=device.tilt_deg,
        face_in=d.face_in,
        around_thigh_deg=d.around_thigh_deg,
        acc_noise_g=d.acc_noise_g,
        gyro_noise_dps=d.gyro_noise_dps,
        acc_bias_g=max(abs(x) for x in d.acc_bias_g),
        gyro_bias_dps=max(abs(x) for x in d.gyro_bias_dps),
        acc_lsb_g=d.acc_lsb_g,
        gyro_lsb_dps=d.gyro_lsb_dps,
        clock_drift_ppm=d.clock_drift_ppm,
        accel_only=device.accel_only,
    )


@dataclass(slots=True, kw_only=True)
class _Trainee:
    """The program's evolving state per exercise: resistance level, strength, day-one reps, sets."""

    ladders: dict[str, tuple[str, ...]]
    level: dict[str, int]
    strength: dict[str, float]
    r0: dict[str, float]
    n_sets: dict[str, int]
    start_res: dict[str, str]
    growth: float
    reached_top: dict[str, bool]

    @classmethod
    def draw(cls, ex_list: list[Exercise], rng: np.random.Generator) -> _Trainee:
        ladders = {str(e): resistance_ladder(e) for e in ex_list}
        level: dict[str, int] = {}
        r0: dict[str, float] = {}
        n_sets: dict[str, int] = {}
        for key in ladders:
            level[key] = int(rng.integers(0, 2))
            # reps to failure with the first resistance on day one: somewhere in the lower rep range
            r0[key] = float(rng.uniform(R0_RANGE[0], R0_RANGE[1]))
            n_sets[key] = int(rng.choice([3, 3, 4]))
        return cls(
            ladders=ladders,
            level=level,
            strength=dict.fromkeys(ladders, 1.0),
            r0=r0,
            n_sets=n_sets,
            start_res={key: ladders[key][level[key]] for key in ladders},
            # strength +0.8-2 % per session done: reps to failure +2.5-6 %, one or two reps a week at 12
            # reps (beginners on light bands progress fast; the demo and report tests rely on a step
            # within ~3 weeks)
            growth=float(rng.uniform(0.008, 0.02)),
            reached_top=dict.fromkeys(ladders, False),
        )

    def week_targets(self) -> dict[str, PlanTarget]:
        """Step up the resistance where last week reached the top of the range; this week's targets."""
        for key, top in self.reached_top.items():
            if top and self.level[key] < len(self.ladders[key]) - 1:
                self.level[key] += 1
            self.reached_top[key] = False
        return {
            key: PlanTarget(
                sets=self.n_sets[key],
                reps_min=REPS_RANGE[0],
                reps_max=REPS_RANGE[1],
                resistance=self.ladders[key][self.level[key]],
            )
            for key in self.ladders
        }


@dataclass(slots=True, kw_only=True)
class _DayLoads:
    """What one training day's sets were: reps per set, fatigue, ROM scale and load per exercise."""

    set_reps: dict[str, tuple[int, ...]] = field(default_factory=dict)
    fatigue: dict[str, float] = field(default_factory=dict)
    rom_scale: dict[str, float] = field(default_factory=dict)
    loads: dict[str, str] = field(default_factory=dict)
    proximity: list[float] = field(default_factory=list)


def _train_day(
    trainee: _Trainee, targets: dict[str, PlanTarget], keys: tuple[str, ...], rng: np.random.Generator
) -> _DayLoads:
    """Every set taken as far as today's strength allows (up to the top of the range); strength grows."""
    day = _DayLoads()
    reps_hi = REPS_RANGE[1]
    # day-to-day form: about +-1 rep
    readiness = float(np.exp(rng.normal(0.0, 0.025)))
    for key in keys:
        res = targets[key].resistance
        rel = trainee.strength[key] * readiness * load_factor(trainee.start_res[key]) / load_factor(res)
        reps: list[int] = []
        for j in range(targets[key].sets):
            capacity = trainee.r0[key] * rel**3.0 * (1.0 - 0.04 * j)
            reserve = int(rng.integers(0, 2))  # stopped 0-1 reps short of failure
            reps.append(int(np.clip(np.floor(capacity) - reserve, 3, reps_hi)))
            day.proximity.append(min(1.0, reps[-1] / max(capacity, 1.0)))
        day.set_reps[key] = tuple(reps)
        day.fatigue[key] = float(np.clip(2.0 * (np.mean(day.proximity[-len(reps) :]) - 0.45), 0.1, 1.0))
        day.rom_scale[key] = float(np.clip(1.05 - 0.2 * (1.0 / rel - 1.0), 0.8, 1.05))
        day.loads[key] = res
        # a session with every set at the top of the range: next week steps the resistance up
        if all(r >= reps_hi for r in reps):
            trainee.reached_top[key] = True
        trainee.strength[key] *= 1.0 + trainee.growth * float(np.exp(rng.normal(0.0, 0.3)))
    return day


def _session_rpe(proximity: list[float], rpe_prob: float, rng: np.random.Generator) -> float | None:
    if rng.random() >= rpe_prob:
        return None
    # every set close to failure: ~7-8; sets stopped at the top of the range, well short: lower
    effort = 1.5 + 6.5 * float(np.mean(proximity)) + rng.normal(0.0, 0.7)
    return float(np.clip(round(effort), 1, 10))


def simulate_program(
    weeks: int,
    seed: int,
    *,
    sessions_per_week: int | None = None,
    exercises: Sequence[str] | None = None,
    start_date: date | None = None,
    side: str | None = None,
    fs_hz: float | None = None,
    compact: bool = False,
    miss_prob: float = 0.12,
    rpe_prob: float = 0.7,
    sensor: SensorSpec | None = None,
) -> SimulatedProgram:
    """Simulate ``weeks`` weeks of training with double progression; deterministic per ``seed``.

    ``sessions_per_week`` 2 or 3 (``None``: drawn); ``exercises`` the program's exercise ids (``None``: 3-4
    drawn); ``start_date`` the Monday of week 1 (``None``: 2026-03-02); ``fs_hz`` the sensor rate for
    every session (``None``: drawn once); ``compact`` makes cheap sessions for tests and demos (short
    rests, no walking, no other-leg sets: about 2-4 minutes each); ``miss_prob`` chance a planned
    session is skipped; ``rpe_prob`` chance the user logged a session RPE.
    """
    if weeks < 1:
        raise SimulationError(f"weeks must be >= 1, got {weeks}")
    # separate streams, so that a change in one model (say, the person) leaves the others' draws alone
    person_ss, device_ss, plan_ss, days_ss = np.random.SeedSequence([seed, 0xB106]).spawn(4)
    rng = np.random.default_rng(plan_ss)
    days = np.random.default_rng(days_ss)
    person = draw_person(np.random.default_rng(person_ss))
    side = side or str(rng.choice(["left", "right"]))
    per_week = sessions_per_week or int(rng.choice([2, 3]))
    ex_list = _program_exercises(exercises, rng)
    start = start_date or date(2026, 3, 2)
    start = start - timedelta(days=start.weekday())
    fs = float(fs_hz) if fs_hz is not None else float(rng.choice([25.0, 50.0, 52.0, 100.0]))
    device = _device(sensor, np.random.default_rng(device_ss))
    hour = float(days.choice([7.0, 12.5, 18.0, 19.5])) + float(days.normal(0.0, 0.3))
    trainee = _Trainee.draw(ex_list, rng)

    plans: list[WeekPlan] = []
    schedule: list[ScheduledSession] = []
    sessions: list[SimulatedSession] = []
    for w in range(weeks):
        targets = trainee.week_targets()
        week_start = start + timedelta(weeks=w)
        plans.append(WeekPlan(week=w + 1, start_date=week_start, targets=targets))
        for i_day, wd in enumerate(_weekdays(days, per_week)):
            day = week_start + timedelta(days=wd)
            # rotate through the exercises so each session trains 2-3 of them (all when there are 3)
            offset = (w * per_week + i_day) % len(ex_list)
            keys = tuple(str(ex_list[(offset + j) % len(ex_list)]) for j in range(min(len(ex_list), 3)))
            if days.random() < miss_prob:
                schedule.append(
                    ScheduledSession(week=w + 1, day=day, done=False, exercises=keys, session_index=None)
                )
                continue
            loads = _train_day(trainee, targets, keys, rng)
            rpe = _session_rpe(loads.proximity, rpe_prob, rng)
            started = datetime.combine(day, time(0, 0), tzinfo=UTC) + timedelta(
                hours=hour + float(days.normal(0.0, 0.5))
            )
            session_seed = int(np.random.SeedSequence([seed, w, i_day]).generate_state(1)[0])
            spec = _session_spec(keys, loads, rpe, started.replace(microsecond=0), compact=compact)
            spec = replace(spec, side=side, person=person, fs_hz=fs, sensor=device)
            schedule.append(
                ScheduledSession(week=w + 1, day=day, done=True, exercises=keys, session_index=len(sessions))
            )
            sessions.append(simulate_session(session_seed, spec=spec))
            log.debug("program seed=%d week %d day %s: %s", seed, w + 1, day, loads.set_reps)
    return SimulatedProgram(
        seed=seed, weeks=weeks, side=side, sessions=sessions, plan=plans, schedule=schedule, person=person
    )


def _session_spec(
    keys: tuple[str, ...],
    loads: _DayLoads,
    rpe: float | None,
    started_at: datetime,
    *,
    compact: bool,
) -> SessionSpec:
    """The session of one training day, as the session model takes it (person, side, rate and device
    are the program's, filled in by the caller)."""
    return SessionSpec(
        exercises=keys,
        set_reps=loads.set_reps,
        loads=loads.loads,
        fatigue=loads.fatigue,
        rom_scale=loads.rom_scale,
        started_at=started_at,
        rpe=rpe,
        both_sides=not compact,
        walking=not compact,
        rest_s=(10.0, 20.0) if compact else (40.0, 100.0),
        lead_s=(2.0, 4.0) if compact else (5.0, 20.0),
    )


def plan_to_json(plan: WeekPlan) -> dict[str, Any]:
    """A week's plan as JSON-ready dict."""
    return {
        "week": plan.week,
        "start_date": plan.start_date.isoformat(),
        "targets": {
            k: {"sets": t.sets, "reps_min": t.reps_min, "reps_max": t.reps_max, "resistance": t.resistance}
            for k, t in plan.targets.items()
        },
    }


def program_to_json(program: SimulatedProgram, files: Sequence[str] | None = None) -> dict[str, Any]:
    """The program as a JSON-ready dict: plan per week and the schedule with each done session's sets.

    ``files`` optionally names each session's recording (same order as ``program.sessions``).
    """
    sched = []
    for s in program.schedule:
        item: dict[str, Any] = {
            "week": s.week,
            "date": s.day.isoformat(),
            "done": s.done,
            "exercises": list(s.exercises),
        }
        if s.session_index is not None:
            sess = program.sessions[s.session_index]
            item.update(
                {
                    "session_index": s.session_index,
                    "seed": sess.seed,
                    "started_at": sess.started_at.isoformat(),
                    "rpe": sess.rpe,
                    "duration_s": round(sess.duration_s, 3),
                    "sets": [
                        {"exercise": st["exercise"], "load": st["load"], "reps": len(st["reps"])}
                        for st in sess.truth["sets"]
                    ],
                }
            )
            if files is not None:
                item["file"] = files[s.session_index]
        sched.append(item)
    return {
        "seed": program.seed,
        "weeks": program.weeks,
        "side": program.side,
        "plan": [plan_to_json(p) for p in program.plan],
        "schedule": sched,
    }
