"""Whole training sessions: a script of activities, joined smoothly, seen through the sensor model.

``simulate_session(seed, spec=...)`` returns a :class:`SimulatedSession` whose ``truth`` dict has the
``hipsync analyze --json`` shape (``sets`` with reps), plus ``segments`` (everything else: walking,
postures, transitions, sets trained by the other leg) and ``meta`` (the drawn parameters).
All truth times are seconds on the recording's own time axis (the sensor clock, drift included).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np

from hipsync.records import Exercise
from simulate.activities import (
    Chunk,
    Person,
    draw_person,
    exercise_set,
    hold_posture,
    passive_set,
    transition,
    walk,
)
from simulate.body import EXERCISES, REST_POSE, Posture
from simulate.kinematics import FloatArray, qapply, qconj, qmul, qto_rotvec, qyaw
from simulate.reps import SetStyle, Tempo
from simulate.sensor import SensorOutput, SensorSpec, synthesize
from simulate.variation import Variation, WideDraws

log = logging.getLogger(__name__)

SIMULATOR_VERSION = "1.0"
#: Output sample rates drawn when ``SessionSpec.fs_hz`` is None (the common IMU rates, 25-208 Hz).
SAMPLE_RATES_HZ = (25.0, 50.0, 52.0, 100.0, 104.0, 200.0, 208.0)
BAND_LEVELS = ("yellow", "red", "green", "blue", "black")
#: Exercises trained with one leg while the other is passive (the rest use the sensor leg only).
UNILATERAL = tuple(ex for ex, m in EXERCISES.items() if m.passive_posture is not None)


class SimulationError(ValueError):
    """A session or program specification cannot be simulated (unknown exercise, bad ranges)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class SessionSpec:
    """What to simulate; ``None`` fields are drawn from the seed.

    - ``exercises``: exercise ids in order (``None``: ``n_exercises`` of the five at random, default 2-4).
    - ``sets_per_exercise``: sets by the sensor leg per exercise (``None``: 3-4).
    - ``reps_per_set``: range of reps per set when ``set_reps`` does not give them.
    - ``set_reps``: explicit reps per set, by exercise id (the program model uses this).
    - ``loads``: resistance per exercise as written by users (``band:red``, ``ankle:1kg``, ``bodyweight``).
    - ``fatigue``: closeness to failure per exercise, 0-1 (slower, smaller last reps).
    - ``rom_scale``: multiplies the person's range of motion per exercise (heavier bands shorten it).
    - ``side``: the sensor leg, ``left``/``right``.
    - ``both_sides``: also train the other leg in unilateral exercises (passive segments for the sensor).
    - ``walking``: walk at the start, end and between exercises.
    - ``rest_s``: rest between sets (s, range). ``lead_s``: standing before anything else (s, range).
    - ``fs_hz``: output sample rate (``None``: one of :data:`SAMPLE_RATES_HZ`).
    - ``sensor``: sensor imperfections (``None``: all drawn); ``SensorSpec(accel_only=True)`` drops the gyro.
    - ``started_at``: UTC start; ``person``: the trainee (``None``: drawn); ``rpe``: session RPE to report.
    - ``variation``: the wide population's ranges (:class:`~simulate.variation.Variation`), drawn per
      session, person and set from a stream of their own; ``None``: the default model. A ``fs_hz``,
      ``sensor`` or ``person`` given here is used as it is.
    """

    exercises: tuple[str, ...] | None = None
    n_exercises: int | None = None
    sets_per_exercise: int | None = None
    reps_per_set: tuple[int, int] = (10, 15)
    set_reps: Mapping[str, tuple[int, ...]] | None = None
    loads: Mapping[str, str] | None = None
    fatigue: Mapping[str, float] | None = None
    rom_scale: Mapping[str, float] | None = None
    side: str | None = None
    both_sides: bool = True
    walking: bool = True
    rest_s: tuple[float, float] = (40.0, 100.0)
    lead_s: tuple[float, float] = (5.0, 20.0)
    fs_hz: float | None = None
    sensor: SensorSpec | None = None
    partial_rep_prob: float = 0.05
    started_at: datetime | None = None
    person: Person | None = None
    rpe: float | None = None
    variation: Variation | None = None

    @classmethod
    def wide(cls, **kw: Any) -> SessionSpec:
        """A session of the wide population (``variation=Variation()``): every set, person and sensor as
        varied as people are, with walking and the other leg's sets; 2-4 exercises of 1-4 sets of 4-20
        reps (block sets more), 15-100 s rests. Evaluate on :data:`~simulate.variation.HELD_OUT_SEEDS`."""
        return cls(
            variation=kw.pop("variation", Variation()),
            reps_per_set=kw.pop("reps_per_set", (4, 20)),
            rest_s=kw.pop("rest_s", (15.0, 100.0)),
            lead_s=kw.pop("lead_s", (3.0, 20.0)),
            **kw,
        )

    @classmethod
    def quick(cls, exercise: str | None = None, *, n_reps: int = 8, sets: int = 1, **kw: Any) -> SessionSpec:
        """A short session (about a minute or two): one exercise, ``sets`` sets, short rests, no walking."""
        return cls(
            exercises=None if exercise is None else (exercise,),
            n_exercises=1,
            sets_per_exercise=sets,
            reps_per_set=(n_reps, n_reps),
            walking=kw.pop("walking", False),
            both_sides=kw.pop("both_sides", False),
            rest_s=kw.pop("rest_s", (8.0, 15.0)),
            lead_s=kw.pop("lead_s", (3.0, 5.0)),
            **kw,
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class SimulatedSession:
    """One simulated recording with its ground truth.

    ``time_s`` (n,) s on the sensor clock; ``accel_g`` (n, 3) g and ``gyro_dps`` (n, 3) deg/s in the
    sensor frame (``gyro_dps`` is None for accelerometer-only sensors); ``fs_hz`` nominal rate;
    ``started_at`` UTC wall-clock time of ``time_s == 0``; ``side`` the sensor leg; ``truth`` the
    ``analyze --json``-shaped dict plus ``segments`` and ``meta``; ``orientation_xyzw`` (n, 4) true
    world-from-sensor quaternion (scalar last) at each sample, world z up; ``rpe`` session RPE 0-10.
    """

    seed: int
    time_s: FloatArray
    accel_g: FloatArray
    gyro_dps: FloatArray | None
    fs_hz: float
    started_at: datetime
    side: str
    truth: dict[str, Any]
    orientation_xyzw: FloatArray = field(repr=False)
    rpe: float | None = None

    @property
    def n_samples(self) -> int:
        return int(self.time_s.shape[0])

    @property
    def duration_s(self) -> float:
        return float(self.time_s[-1] - self.time_s[0]) if self.n_samples else 0.0


def _default_load(ex: Exercise, rng: np.random.Generator) -> str:
    if EXERCISES[ex].band:
        return f"band:{BAND_LEVELS[int(rng.integers(0, 3))]}"
    if ex is Exercise.SIDE_LYING_LEG_RAISE and rng.random() < 0.5:
        return f"ankle:{float(rng.choice([0.5, 1.0, 1.5])):g}kg"
    return "bodyweight"


_MIRROR_POSTURE = {"lying_left": "lying_right", "lying_right": "lying_left"}


class _Builder:
    """Accumulates chunks on the fine grid, inserting transitions where consecutive poses differ."""

    def __init__(self, rng: np.random.Generator, fs_hz: float) -> None:
        self.rng = rng
        self.fs_hz = fs_hz
        self.chunks: list[Chunk] = []
        self.starts: list[int] = []
        self.n = 0
        self.heading_deg = float(rng.uniform(0.0, 360.0))

    def _end(self) -> tuple[FloatArray, FloatArray] | None:
        if not self.chunks:
            return None
        c = self.chunks[-1]
        return c.rot[-1], c.pos[-1]

    def add(self, chunk: Chunk, *, heading_change_deg: float = 0.0, step_m: float = 0.0) -> Chunk:
        """Place ``chunk`` (local frame) at the current heading/position and append it."""
        self.heading_deg += heading_change_deg
        r = qyaw(self.heading_deg)
        chunk.rot = qmul(r, chunk.rot)
        chunk.pos = qapply(r, chunk.pos)
        if chunk.extra_acc is not None:
            chunk.extra_acc = qapply(r, chunk.extra_acc)
        end = self._end()
        # fixed number of draws whatever happens below (keeps the random stream rate-independent)
        d = self.rng.normal(0.0, 1.0, 2)
        factor = float(self.rng.uniform(0.8, 1.3))
        t_rng = np.random.default_rng(int(self.rng.integers(0, 2**63)))
        if end is not None:
            rot_end, pos_end = end
            target_xy = pos_end[:2] + d / (np.linalg.norm(d) + 1e-9) * step_m
            chunk.pos = chunk.pos + np.array([*(target_xy - chunk.pos[0, :2]), 0.0])
            angle = float(np.rad2deg(np.linalg.norm(qto_rotvec(qmul(qconj(rot_end), chunk.rot[0])))))
            dist = float(np.linalg.norm(chunk.pos[0] - pos_end))
            # always a transition (even a tiny settle): a threshold here would make the timeline jump
            # between sample rates, whose noise differs slightly
            dur = (0.6 + angle / 45.0 + dist / 0.35) * factor
            self._append(
                transition(
                    t_rng,
                    fs_hz=self.fs_hz,
                    rot_from=rot_end,
                    rot_to=chunk.rot[0],
                    pos_from=pos_end,
                    pos_to=chunk.pos[0],
                    duration_s=float(np.clip(dur, 0.5, 6.0)),
                )
            )
        self._append(chunk)
        return chunk

    def _append(self, chunk: Chunk) -> None:
        self.starts.append(self.n)
        self.chunks.append(chunk)
        self.n += chunk.n


@dataclass(frozen=True, slots=True, kw_only=True)
class _ExercisePlan:
    """One exercise's draws for the session: reps per set, load, starting fatigue, range and tempo."""

    exercise: Exercise
    reps: list[int]
    load: str
    fatigue0: float
    rom_deg: float
    tempo: Tempo
    #: (sensor leg trains?, set index) in the order they are trained
    order: list[tuple[bool, int]]


def _choose_exercises(
    spec: SessionSpec, rng: np.random.Generator, accel_only: bool = False
) -> list[Exercise]:
    """The session's exercises: as given, or 2-4 drawn (an accelerometer-only wide session leaves out the
    seated abduction, which turns the thigh about the vertical: invisible without a gyroscope)."""
    if spec.exercises is None:
        k = spec.n_exercises if spec.n_exercises is not None else int(rng.integers(2, 5))
        pool = list(EXERCISES)
        if accel_only and spec.variation is not None:
            pool.remove(Exercise.BANDED_ABDUCTION_SEATED)
        return [Exercise(str(e)) for e in rng.permutation(pool)[:k]]
    try:
        return [Exercise(e) for e in spec.exercises]
    except ValueError as e:
        raise SimulationError(str(e)) from e


def _reps_per_set(spec: SessionSpec, key: str, rng: np.random.Generator, wide: WideDraws | None) -> list[int]:
    """Reps of each set: as given, or a first set in the range and later ones 0-1 reps fewer each."""
    if spec.set_reps is not None and key in spec.set_reps:
        return [int(r) for r in spec.set_reps[key]]
    lo_reps, hi_reps = spec.reps_per_set
    n_sets = spec.sets_per_exercise
    if n_sets is None:
        n_sets = int(rng.integers(3, 5)) if wide is None else wide.n_sets()
    first = int(rng.integers(lo_reps, hi_reps + 1))
    reps_list = [max(lo_reps, first - int(rng.integers(0, 2)) * j) for j in range(n_sets)]
    return [min(r, hi_reps) for r in reps_list]


def _set_order(n_sets: int, passive: bool, alternate: bool, sensor_first: bool) -> list[tuple[bool, int]]:
    """Which leg trains when: (sensor leg?, set index), alternating legs or one leg's sets in a block."""
    own = [(True, j) for j in range(n_sets)]
    if not passive:
        return own
    other = [(False, j) for j in range(n_sets)]
    if alternate:
        pairs = zip(own, other, strict=True) if sensor_first else zip(other, own, strict=True)
        return [item for pair in pairs for item in pair]
    return own + other if sensor_first else other + own


def _plan_exercise(
    spec: SessionSpec, ex: Exercise, rng: np.random.Generator, person: Person, wide: WideDraws | None
) -> _ExercisePlan:
    """Draw one exercise's plan (the draw order is part of every seeded session: do not reorder)."""
    key = str(ex)
    reps_list = _reps_per_set(spec, key, rng, wide)
    load = spec.loads[key] if spec.loads and key in spec.loads else _default_load(ex, rng)
    fat0 = spec.fatigue[key] if spec.fatigue and key in spec.fatigue else float(rng.uniform(0.1, 0.5))
    rom = person.rom_deg[key] * (spec.rom_scale[key] if spec.rom_scale and key in spec.rom_scale else 1.0)
    rom *= float(np.exp(rng.normal(0.0, 0.04)))
    tempo_scale = float(np.exp(rng.normal(0.0, 0.08)))
    tempo = Tempo(
        concentric_s=person.tempo.concentric_s * tempo_scale,
        top_hold_s=person.tempo.top_hold_s * tempo_scale,
        eccentric_s=person.tempo.eccentric_s * tempo_scale,
        bottom_pause_s=person.tempo.bottom_pause_s * tempo_scale,
    )
    passive = spec.both_sides and ex in UNILATERAL
    alternate = bool(rng.random() < 0.6)
    sensor_first = bool(rng.random() < 0.6)
    return _ExercisePlan(
        exercise=ex,
        reps=reps_list,
        load=load,
        fatigue0=fat0,
        rom_deg=rom,
        tempo=tempo,
        order=_set_order(len(reps_list), passive, alternate, sensor_first),
    )


class _Script:
    """Lays out a session's activities in order on a :class:`_Builder` (one method per kind of step).

    Every random draw comes from ``rng`` in a fixed order, and each activity gets its own child generator
    (``sub()``), so the plan-level stream does not depend on how many samples an activity has: the same
    seed gives the same session at any rate. Reordering draws here changes every seeded session.
    """

    def __init__(
        self,
        spec: SessionSpec,
        rng: np.random.Generator,
        person: Person,
        fs_hz: float,
        wide: WideDraws | None = None,
    ) -> None:
        self.spec = spec
        self.rng = rng
        self.person = person
        self.fs = fs_hz
        self.b = _Builder(rng, fs_hz)
        #: the wide population's draws (own stream: the default draws above stay as they are)
        self.wide = wide

    def sub(self) -> np.random.Generator:
        return np.random.default_rng(int(self.rng.integers(0, 2**63)))

    def hold(
        self, posture: Posture, pose: tuple[float, float, float], lo: float, hi: float, kind: str = "rest"
    ) -> Chunk:
        """Staying in ``posture`` for ``lo``-``hi`` s (fidgeting), not yet placed."""
        sub = self.sub()
        duration_s = float(self.rng.uniform(lo, hi))
        movements = () if self.wide is None else self.wide.rest_movements(duration_s, posture)
        return hold_posture(
            sub,
            fs_hz=self.fs,
            posture=posture,
            pose_deg=pose,
            duration_s=duration_s,
            person=self.person,
            kind=kind,
            movements=movements,
        )

    def rest(self, posture: Posture, pose: tuple[float, float, float], lo: float, hi: float) -> None:
        """Stay in ``posture`` for ``lo``-``hi`` s where the last activity ended."""
        self.b.add(self.hold(posture, pose, lo, hi))

    def stand_rest(self, lo: float, hi: float) -> None:
        self.rest(Posture.STANDING, REST_POSE[Posture.STANDING], lo, hi)

    def walking(self, lo: float, hi: float) -> None:
        chunk = walk(
            self.sub(), fs_hz=self.fs, duration_s=float(self.rng.uniform(lo, hi)), person=self.person
        )
        self.b.add(chunk, step_m=0.0)
        # continue facing where the walk ended (its last heading is in the chunk's orientation)
        fwd = qapply(chunk.rot[-1], np.array([1.0, 0.0, 0.0]))
        self.b.heading_deg = float(np.rad2deg(np.arctan2(fwd[1], fwd[0])))

    def move_to(
        self,
        posture: Posture,
        pose: tuple[float, float, float],
        lo: float,
        hi: float,
        heading_sd: float,
        step_m: float | None,
    ) -> None:
        """Turn and step somewhere else, then stay in ``posture`` for ``lo``-``hi`` s."""
        chunk = self.hold(posture, pose, lo, hi)
        heading = float(self.rng.normal(0.0, heading_sd))
        step = float(self.rng.uniform(0.2, 1.0)) if step_m is None else step_m
        self.b.add(chunk, heading_change_deg=heading, step_m=step)

    def run(self, exercises: list[Exercise]) -> dict[str, Any]:
        """The whole session; returns the per-exercise plan used (for the truth's meta)."""
        self.stand_rest(*self.spec.lead_s)
        if self.spec.walking:
            self.walking(20.0, 60.0)
            self.stand_rest(3.0, 10.0)
        plan: dict[str, Any] = {}
        for i_ex, ex in enumerate(exercises):
            p = _plan_exercise(self.spec, ex, self.rng, self.person, self.wide)
            plan[str(ex)] = {"reps": p.reps, "load": p.load, "rom_deg": p.rom_deg}
            self.get_into_position(p)
            for k_item, (own_leg, j) in enumerate(p.order):
                posture, pose = self.train_set(p, own_leg, j)
                if k_item < len(p.order) - 1:
                    self.between_sets(p, own_leg, p.order[k_item + 1][0], posture, pose)
            nxt = exercises[i_ex + 1] if i_ex + 1 < len(exercises) else None
            self.leave_exercise(ex, nxt)
        return plan

    def get_into_position(self, p: _ExercisePlan) -> None:
        """Walk up and settle into the first set's posture; rest a little before it."""
        model = EXERCISES[p.exercise]
        first_posture = model.posture if p.order[0][0] else model.passive_posture
        assert first_posture is not None
        settle_pose = REST_POSE[first_posture] if first_posture is not model.posture else model.base
        self.move_to(first_posture, settle_pose, 4.0, 12.0, 30.0, None)

    def train_set(
        self, p: _ExercisePlan, own_leg: bool, j: int
    ) -> tuple[Posture, tuple[float, float, float]]:
        """Set ``j`` by the sensor leg (``own_leg``) or the other leg; returns the posture it ends in."""
        model = EXERCISES[p.exercise]
        fatigue = float(np.clip(p.fatigue0 + 0.1 * j + self.rng.normal(0.0, 0.05), 0.0, 1.0))
        if own_leg:
            style = None
            if self.wide is not None:
                style = self.wide.set_style(p.exercise, p.tempo, p.rom_deg, p.reps[j])
                p.reps[j] = style.n_reps  # a block set has as many reps as its blocks
            chunk = exercise_set(
                self.sub(),
                fs_hz=self.fs,
                exercise=p.exercise,
                n_reps=p.reps[j],
                rom_deg=p.rom_deg,
                tempo=p.tempo,
                fatigue=fatigue,
                person=self.person,
                partial_prob=self.spec.partial_rep_prob,
                style=style,
            )
            self.b.add(chunk).info.update({"load": p.load, "set_number": j + 1})
            return model.posture, model.base
        other_reps = max(1, p.reps[j] + int(self.rng.integers(-1, 2)))
        sub = self.sub()
        rom = p.rom_deg * float(self.rng.uniform(0.9, 1.1))
        passive = None if self.wide is None else self.wide.passive(p.tempo, p.exercise, other_reps)
        chunk = passive_set(
            sub,
            fs_hz=self.fs,
            exercise=p.exercise,
            n_reps=other_reps,
            rom_deg=rom,
            tempo=p.tempo,
            fatigue=fatigue,
            person=self.person,
            style=passive,
        )
        self.b.add(chunk).info.update({"load": p.load})
        assert model.passive_posture is not None
        return model.passive_posture, model.passive_base

    def between_sets(
        self,
        p: _ExercisePlan,
        own_leg: bool,
        next_own: bool,
        posture: Posture,
        pose: tuple[float, float, float],
    ) -> None:
        """Rest between sets; when the other leg trains next lying down, roll over through supine."""
        model = EXERCISES[p.exercise]
        if next_own == own_leg or posture is Posture.STANDING:
            self.rest(posture, pose, *self.spec.rest_s)
            return
        self.rest(posture, pose, 3.0, 10.0)
        self.rest(Posture.SUPINE, REST_POSE[Posture.SUPINE], 0.5, 3.0)
        nxt_posture = model.posture if next_own else model.passive_posture
        assert nxt_posture is not None
        self.rest(nxt_posture, model.base if next_own else model.passive_base, 2.0, 8.0)

    def leave_exercise(self, ex: Exercise, nxt: Exercise | None) -> None:
        """Stand up and walk (or sit on a bench) before the next exercise, unless it has the same posture."""
        model = EXERCISES[ex]
        if nxt is not None and EXERCISES[nxt].posture is model.posture:
            self.rest(model.posture, REST_POSE[model.posture], *self.spec.rest_s)
            return
        self.rest(model.posture, REST_POSE[model.posture], 3.0, 10.0)
        self.move_to(Posture.STANDING, REST_POSE[Posture.STANDING], 2.0, 8.0, 40.0, 0.3)
        walk_now, sit_now = self.rng.random() < 0.7, self.rng.random() < 0.3
        if self.spec.walking and (nxt is None or walk_now):
            self.walking(8.0, 40.0)
            self.stand_rest(2.0, 6.0)
        if self.spec.walking and nxt is not None and sit_now:
            # a break on a chair or bench: sitting that is not a seated exercise
            self.rest(Posture.SITTING, REST_POSE[Posture.SITTING], 20.0, 60.0)
            self.stand_rest(2.0, 5.0)


def _script(
    spec: SessionSpec,
    rng: np.random.Generator,
    person: Person,
    fs: float,
    *,
    wide: WideDraws | None = None,
    accel_only: bool = False,
) -> tuple[_Builder, dict[str, Any]]:
    """Lay out the session's activities; returns the builder and the per-exercise plan used."""
    exercises = _choose_exercises(spec, rng, accel_only)
    lo_reps, hi_reps = spec.reps_per_set
    if lo_reps < 1 or hi_reps < lo_reps:
        raise SimulationError(f"reps_per_set must be 1 <= lo <= hi, got {spec.reps_per_set}")
    script = _Script(spec, rng, person, fs, wide)
    plan = script.run(exercises)
    return script.b, plan


def _round(x: float, nd: int = 4) -> float:
    return round(float(x), nd)


def _rates(spec: SessionSpec, rng: np.random.Generator, wide: WideDraws | None) -> tuple[float, str, float]:
    """Output rate, sensor leg and the fine simulation grid's rate (2-4x the output rate, >= 100 Hz)."""
    if spec.fs_hz is not None:
        fs_hz = float(spec.fs_hz)
    else:
        fs_hz = float(rng.choice(SAMPLE_RATES_HZ)) if wide is None else wide.fs_hz()
    if not 1.0 <= fs_hz <= 1000.0:
        raise SimulationError(f"fs_hz must be within 1-1000 Hz, got {fs_hz}")
    side = spec.side if spec.side is not None else str(rng.choice(["left", "right"]))
    if side not in ("left", "right"):
        raise SimulationError(f"side must be 'left' or 'right', got {side!r}")
    # fine grid: 2-4x the output rate (>= 100 Hz) so heel strikes and the anti-alias filter are resolved
    fine_fs = max(100.0, min(4.0 * fs_hz, max(200.0, 2.0 * fs_hz)))
    return fs_hz, side, fine_fs


def _synthesize(
    builder: _Builder,
    *,
    fine_fs: float,
    fs_hz: float,
    side: str,
    sensor: SensorSpec,
    rng: np.random.Generator,
) -> SensorOutput:
    """Join the chunks and run the sensor model over them."""
    rot = np.concatenate([c.rot for c in builder.chunks])
    pos = np.concatenate([c.pos for c in builder.chunks])
    extra = np.zeros_like(pos)
    for c, s in zip(builder.chunks, builder.starts, strict=True):
        if c.extra_acc is not None:
            extra[s : s + c.n] = c.extra_acc
    return synthesize(
        fine_fs_hz=fine_fs,
        thigh=rot,
        sensor_pos_m=pos,
        extra_acc_mps2=extra,
        side=side,
        fs_hz=fs_hz,
        spec=sensor,
        rng=rng,
    )


@dataclass(frozen=True, slots=True)
class _Clock:
    """Fine-grid sample index -> seconds on the recording's own (drifting) clock."""

    fine_fs: float
    scale: float

    def at(self, i_fine: float) -> float:
        return _round(i_fine / self.fine_fs * self.scale)

    def of(self, offset_s: float, t_s: float) -> float:
        return _round((offset_s + t_s) * self.scale)


def _truth_set(c: Chunk, start: int, clock: _Clock, side: str) -> dict[str, Any]:
    """A set by the sensor leg in the ``analyze --json`` shape (plus ``load`` and ``passive``)."""
    assert c.set_motion is not None
    off = start / clock.fine_fs
    reps = [
        {
            "start": clock.of(off, r.start_s),
            "top_start": clock.of(off, r.top_start_s),
            "top_end": clock.of(off, r.top_end_s),
            "end": clock.of(off, r.end_s),
            "rom_deg": round(r.rom_deg, 2),
            "partial": r.partial,
        }
        for r in c.set_motion.reps
    ]
    vl = c.set_motion.velocity_loss
    return {
        "exercise": c.info["exercise"],
        "side": side,
        "start": reps[0]["start"],
        "end": reps[-1]["end"],
        "velocity_loss": None if vl is None else _round(vl),
        "reps": reps,
        "load": c.info.get("load"),
        "passive": False,
    }


def _segment(c: Chunk, start: int, clock: _Clock, side: str) -> dict[str, Any]:
    """The truth segment of one chunk (sets get their exercise and rep count; passive sets the other leg)."""
    seg: dict[str, Any] = {"kind": c.kind, "start": clock.at(start), "end": clock.at(start + c.n)}
    posture = c.info.get("posture")
    if posture is not None:
        p = str(posture)
        seg["posture"] = _MIRROR_POSTURE.get(p, p) if side == "left" else p
    if c.kind == "set" and c.set_motion is not None:
        seg.update({"exercise": c.info["exercise"], "side": side, "n_reps": len(c.set_motion.reps)})
    elif c.kind == "passive_set":
        seg.update(
            {
                "exercise": c.info["exercise"],
                "side": "left" if side == "right" else "right",
                "n_reps": c.info["n_reps"],
                "load": c.info.get("load"),
                "passive": True,
            }
        )
    elif c.kind == "walking":
        seg.update({"stride_hz": _round(float(c.info["stride_hz"]) / clock.scale), "steps": c.info["steps"]})  # type: ignore[arg-type]
    seg.update(_wide_extras(c, start, clock))
    return seg


def _wide_extras(c: Chunk, start: int, clock: _Clock) -> dict[str, Any]:
    """What the wide population adds to a segment: movements that are not reps (on the recording's
    clock), a set's style (blocks, drift, jitter), the bumps a passive leg takes (g)."""
    out: dict[str, Any] = {}
    movements = c.info.get("movements")
    if movements is not None:
        off = start / clock.fine_fs
        out["movements"] = [mv.as_dict(off, clock.scale) for mv in movements]  # type: ignore[attr-defined]
    style = c.info.get("style")
    if isinstance(style, SetStyle):
        out["style"] = style.as_dict()
    if "bump_g" in c.info:
        out["bump_g"] = [round(float(x), 4) for x in c.info["bump_g"]]  # type: ignore[attr-defined]
        out["rocking"] = round(float(c.info["rocking"]), 3)  # type: ignore[arg-type]
        out["roll"] = round(float(c.info["roll"]), 3)  # type: ignore[arg-type]
    return out


def _merge_segments(segments: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Merge consecutive rests (or transitions) in the same posture into one segment."""
    merged: list[dict[str, Any]] = []
    for seg in segments:
        if (
            merged
            and seg["kind"] in ("rest", "transition")
            and merged[-1]["kind"] == seg["kind"]
            and merged[-1].get("posture") == seg.get("posture")
        ):
            merged[-1]["end"] = seg["end"]
            if "movements" in seg:
                merged[-1]["movements"] = merged[-1].get("movements", []) + seg["movements"]
        else:
            merged.append(seg)
    return merged


def _started_at(spec: SessionSpec, misc: np.random.Generator) -> datetime:
    started_at = spec.started_at or (
        datetime(2026, 1, 5, tzinfo=UTC)
        + timedelta(days=int(misc.integers(0, 300)), hours=float(misc.uniform(6.0, 20.0)))
    ).replace(microsecond=0)
    if started_at.tzinfo is None:
        started_at = started_at.replace(tzinfo=UTC)
    return started_at


def _person_meta(person: Person) -> dict[str, Any]:
    return {
        "rom_deg": {k: round(v, 2) for k, v in person.rom_deg.items()},
        "tempo_s": [
            round(person.tempo.concentric_s, 3),
            round(person.tempo.top_hold_s, 3),
            round(person.tempo.eccentric_s, 3),
            round(person.tempo.bottom_pause_s, 3),
        ],
    }


def simulate_session(seed: int, *, spec: SessionSpec | None = None) -> SimulatedSession:
    """Simulate one training session with ground truth; the same ``seed`` and ``spec`` give the same result.

    See :class:`SessionSpec` for the options; ``SessionSpec.quick()`` gives a short, cheap session.
    """
    spec = spec or SessionSpec()
    # separate streams for the person, the session script and the sensor: changing one model (or
    # passing a person) leaves the others' draws as they were
    person_ss, script_ss, sensor_ss, misc_ss = np.random.SeedSequence([seed, 0x5EED]).spawn(4)
    rng = np.random.default_rng(script_ss)
    wide = (
        None if spec.variation is None else WideDraws(spec.variation, np.random.default_rng([seed, 0x31DE]))
    )
    person = spec.person or draw_person(np.random.default_rng(person_ss))
    if wide is not None and spec.person is None:
        person = wide.person(person)
    fs_hz, side, fine_fs = _rates(spec, rng, wide)
    sensor = spec.sensor or (SensorSpec() if wide is None else wide.sensor(fs_hz))
    builder, plan = _script(spec, rng, person, fine_fs, wide=wide, accel_only=sensor.accel_only)
    out = _synthesize(
        builder,
        fine_fs=fine_fs,
        fs_hz=fs_hz,
        side=side,
        sensor=sensor,
        rng=np.random.default_rng(sensor_ss),
    )
    clock = _Clock(fine_fs, out.time_scale)
    chunks = list(zip(builder.chunks, builder.starts, strict=True))
    sets = [_truth_set(c, s, clock, side) for c, s in chunks if c.kind == "set" and c.set_motion is not None]
    segments = _merge_segments([_segment(c, s, clock, side) for c, s in chunks])
    started_at = _started_at(spec, np.random.default_rng(misc_ss))
    truth: dict[str, Any] = {
        "sets": sets,
        "segments": segments,
        "meta": {
            "simulator_version": SIMULATOR_VERSION,
            "seed": seed,
            "side": side,
            "fs_hz": fs_hz,
            "started_at": started_at.isoformat(),
            "duration_s": _round(float(out.time_s[-1])),
            "n_samples": int(out.time_s.shape[0]),
            "has_gyro": out.gyro_dps is not None,
            "rpe": spec.rpe,
            "sensor": out.draw.as_dict(),
            "person": _person_meta(person),
            "plan": {k: {"reps": v["reps"], "load": v["load"]} for k, v in plan.items()},
        },
    }
    log.debug("simulated session seed=%d: %d samples, %d sets", seed, out.time_s.shape[0], len(sets))
    return SimulatedSession(
        seed=seed,
        time_s=out.time_s,
        accel_g=out.accel_g,
        gyro_dps=out.gyro_dps,
        fs_hz=fs_hz,
        started_at=started_at,
        side=side,
        truth=truth,
        orientation_xyzw=out.orientation_xyzw,
        rpe=spec.rpe,
    )
