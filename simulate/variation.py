"""The wide population: people, sets and sensors as varied as real ones, so that tuning transfers.

The default model draws a steady trainee: every set at one tempo and range, a lateral strap in one of four
rotations. Real people are not like that (issue 12): the UCI protocol does 10 normal, 10 fast and 10 small
reps in one go, ranges go down to 7-10 deg, reps take 0.8 to 6 s, bridges are held ~5 s, legs fidget, shake
and are repositioned between reps, the resting leg is bumped by the working one, straps sit at any angle,
many sensors have no gyroscope and BLE loses whole frames. :class:`Variation` holds the ranges of all of
that; :class:`WideDraws` draws them per session, per person and per set from its own random stream, so
the default model's draws (and every seeded default session) stay as they were.

Use ``SessionSpec.wide()``; evaluate on :data:`HELD_OUT_SEEDS`, which no test uses.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType

import numpy as np

from hipsync.records import Exercise
from simulate.activities import PassiveStyle, Person
from simulate.body import EXERCISES, Posture
from simulate.movements import KINDS, Movement, draw_movement
from simulate.reps import Block, SetStyle, Tempo
from simulate.sensor import SensorSpec

#: Seeds of the wide accuracy benchmark. No test and no tuning uses them: a detector tuned on these seeds
#: says nothing about people it has never seen. Tests draw wide sessions from other seeds.
HELD_OUT_SEEDS: tuple[int, ...] = tuple(range(880_001, 880_041))

#: The wide population's range of motion per exercise (deg; a person's is drawn uniformly within). Wider
#: than the typical ranges of ``simulate.body``: the real MEx clams turn the thigh's tilt by 45-70 deg (the
#: pelvis rolls with the knee) and the real UCI leg raise by ~20; low-range sets go lower still.
WIDE_ROM_DEG: dict[str, tuple[float, float]] = {
    "clamshell": (20.0, 75.0),
    "side_lying_leg_raise": (12.0, 50.0),
    "banded_abduction_standing": (12.0, 40.0),
    "banded_abduction_seated": (12.0, 35.0),
    "single_leg_glute_bridge": (12.0, 40.0),
}

#: Chance of each kind of non-rep movement (fidget, reposition, shake; see ``simulate.movements.KINDS``).
MOVEMENT_KIND_P = (0.5, 0.3, 0.2)


@dataclass(frozen=True, slots=True, kw_only=True)
class Variation:
    """Ranges of the wide population; ``(lo, hi)`` ranges are drawn uniformly unless said otherwise.

    Sensor and sampling:
    - ``fs_hz``: output rates to choose from (Hz).
    - ``accel_only_prob``: chance the sensor has no gyroscope (seated abduction is then left out of the
      session: it is invisible to an accelerometer).
    - ``around_thigh_deg``: strap placement around the thigh (0 lateral, +90 front); the device is rotated
      in its strap by any angle (0-360 deg) and tilted up to ``tilt_deg``.
    - ``frame_s``: BLE frame length (s of samples per notification); ``lost_frames_per_min`` losses a
      minute, each of ``frames_per_loss`` consecutive whole frames.

    Person (per session):
    - ``rep_s``: typical rep duration, concentric start to eccentric end (s, log-uniform); split into
      a top hold of ``hold_fraction`` of it and concentric/eccentric phases with
      ``eccentric_ratio`` = eccentric / concentric time (log-uniform; < 1: fast, ballistic returns).
    - ``bottom_pause_s``: pause between reps (s); ``rom_deg``: the person's range per exercise (deg,
      :data:`WIDE_ROM_DEG`); ``fidget_per_min``: small posture shifts at rest.
    - ``peak_speed_dps``: the fastest the person turns the thigh in a rep (deg/s, log-uniform; bridges
      ``bridge_speed_scale`` of it): the real MEx clams peak at 45-175 deg/s, their bridges at 15-75.

    Set (per set):
    - ``sets_per_exercise``: sets by the sensor leg per exercise (when the spec does not say).
    - ``set_pace_sd``: log standard deviation of a set's pace around the person's; ``fast_set_prob`` sets
      are done at ``fast_scale`` of the pace and ``fast_rom_scale`` of the range (the UCI fast block moves
      ~0.8x the normal range); a set's mean rep is kept within ``set_rep_s`` (s) (bridges' long holds come
      on top).
    - ``low_rom_prob`` sets move only ``low_rom_deg`` (deg).
    - ``block_set_prob`` sets are blocks of ``block_reps`` reps, the first at the set's pace, later ones
      fast (``fast_block_scale`` of the pace) or small (``small_block_scale`` of the range), ``block_pause_s``
      apart (the UCI protocol: 10 normal, 10 fast, 10 small).
    - ``rom_drift``: range change from the first to the last rep (fraction; fatigue shrinks it further).
    - ``tempo_jitter``, ``hold_jitter``: rep-to-rep log standard deviation of phases and holds;
      ``long_hold_prob``: chance a rep's hold is 2-3x longer; ``skew``: warp of the rep profiles.
    - ``bridge_long_hold_prob`` bridges are held ``bridge_hold_s`` (s) at the top.
    - ``set_movement_prob``: chance per gap between reps of a fidget, reposition or leg shake of
      ``set_movement_deg`` (deg, at most 40 % of the set's range).
    - ``min_rom_deg``: no rep moves less (deg), partial or not.

    Rests and the passive leg:
    - ``rest_movements_per_min`` larger movements at rest (fidgets, repositioning, leg shakes) of
      ``rest_movement_deg`` (deg), on top of the person's small shifts.
    - ``passive_bump_g``: the working leg lands on the resting one: a jolt (g, log-uniform scale per set)
      with a small rebound; ``passive_rocking`` scales how much the resting leg rocks with the working
      one (log-uniform; 1 = the default model's 2-45 % of the working leg's angle); in ``passive_roll_prob``
      of the sets it also rolls about its long axis by ``passive_roll`` of the working leg's angle;
      ``passive_movements_per_min`` movements of the resting leg during the set.
    """

    fs_hz: tuple[float, ...] = (25.0, 26.0, 50.0, 52.0, 64.0, 100.0, 104.0, 200.0, 208.0)
    accel_only_prob: float = 0.3
    around_thigh_deg: tuple[float, float] = (-45.0, 100.0)
    tilt_deg: float = 25.0
    frame_s: tuple[float, float] = (0.1, 0.7)
    lost_frames_per_min: tuple[float, float] = (0.0, 3.0)
    frames_per_loss: tuple[int, int] = (1, 4)

    rep_s: tuple[float, float] = (1.2, 6.0)
    hold_fraction: tuple[float, float] = (0.02, 0.4)
    eccentric_ratio: tuple[float, float] = (0.5, 2.2)
    bottom_pause_s: tuple[float, float] = (0.1, 1.8)
    rom_deg: Mapping[str, tuple[float, float]] = field(default_factory=lambda: MappingProxyType(WIDE_ROM_DEG))
    fidget_per_min: tuple[float, float] = (1.0, 10.0)
    peak_speed_dps: tuple[float, float] = (60.0, 220.0)
    bridge_speed_scale: float = 0.5

    sets_per_exercise: tuple[int, int] = (1, 4)
    set_pace_sd: float = 0.2
    fast_set_prob: float = 0.1
    fast_scale: tuple[float, float] = (0.4, 0.65)
    fast_rom_scale: tuple[float, float] = (0.65, 0.95)
    set_rep_s: tuple[float, float] = (0.85, 6.5)
    low_rom_prob: float = 0.1
    low_rom_deg: tuple[float, float] = (7.0, 12.0)
    block_set_prob: float = 0.15
    block_reps: tuple[int, int] = (4, 10)
    fast_block_scale: tuple[float, float] = (0.35, 0.6)
    small_block_scale: tuple[float, float] = (0.25, 0.5)
    block_pause_s: tuple[float, float] = (0.5, 6.0)
    rom_drift: tuple[float, float] = (-0.3, 0.1)
    tempo_jitter: tuple[float, float] = (0.06, 0.3)
    hold_jitter: tuple[float, float] = (0.15, 0.45)
    long_hold_prob: tuple[float, float] = (0.0, 0.15)
    skew: float = 0.4
    bridge_long_hold_prob: float = 0.5
    bridge_hold_s: tuple[float, float] = (3.0, 6.0)
    set_movement_prob: tuple[float, float] = (0.0, 0.25)
    set_movement_deg: tuple[float, float] = (1.0, 4.0)
    min_rom_deg: float = 6.0

    rest_movements_per_min: tuple[float, float] = (0.3, 2.0)
    rest_movement_deg: tuple[float, float] = (2.0, 10.0)
    passive_bump_g: tuple[float, float] = (0.002, 0.02)
    passive_rocking: tuple[float, float] = (0.1, 1.5)
    passive_roll_prob: float = 0.1
    passive_roll: tuple[float, float] = (0.3, 0.8)
    passive_movements_per_min: tuple[float, float] = (0.0, 2.0)


def _log_uniform(rng: np.random.Generator, lo: float, hi: float) -> float:
    return float(np.exp(rng.uniform(np.log(lo), np.log(hi))))


def _tempo_of(rep_s: float, hold_fraction: float, ecc_ratio: float, pause_s: float) -> Tempo:
    moving = rep_s * (1.0 - hold_fraction)
    con = moving / (1.0 + ecc_ratio)
    return Tempo(
        concentric_s=con,
        top_hold_s=rep_s * hold_fraction,
        eccentric_s=con * ecc_ratio,
        bottom_pause_s=pause_s,
    )


def _rep_s(t: Tempo) -> float:
    return t.concentric_s + t.top_hold_s + t.eccentric_s


def _scaled(t: Tempo, k: float) -> Tempo:
    return Tempo(
        concentric_s=t.concentric_s * k,
        top_hold_s=t.top_hold_s * k,
        eccentric_s=t.eccentric_s * k,
        bottom_pause_s=t.bottom_pause_s * k,
    )


class WideDraws:
    """Draws the wide population's session, person, set, rest and passive-leg variation from ``rng``.

    One instance per session; the session script calls it in a fixed order, so a seed gives one session.
    """

    def __init__(self, variation: Variation, rng: np.random.Generator) -> None:
        self.v = variation
        self.rng = rng
        #: the person's fastest thigh rotation in a rep (deg/s)
        self.peak_speed_dps = _log_uniform(rng, *variation.peak_speed_dps)

    # -- session level -------------------------------------------------------------------------------

    def fs_hz(self) -> float:
        return float(self.rng.choice(self.v.fs_hz))

    def sensor(self, fs_hz: float) -> SensorSpec:
        """Any strap angle and placement, acc-only sometimes, whole-frame losses; the rest drawn as usual."""
        v, rng = self.v, self.rng
        return SensorSpec(
            strap_rotation_deg=round(float(rng.uniform(0.0, 360.0)), 1),
            around_thigh_deg=round(float(rng.uniform(*v.around_thigh_deg)), 1),
            tilt_deg=v.tilt_deg,
            accel_only=bool(rng.random() < v.accel_only_prob),
            frame_samples=max(2, round(fs_hz * float(rng.uniform(*v.frame_s)))),
            drop_runs_per_min=float(rng.uniform(*v.lost_frames_per_min)),
            drop_run_frames=v.frames_per_loss,
        )

    def person(self, person: Person) -> Person:
        """``person`` with a wide tempo (0.8-6 s reps, either phase faster), range and fidgeting."""
        v, rng = self.v, self.rng
        tempo = _tempo_of(
            _log_uniform(rng, *v.rep_s),
            float(rng.uniform(*v.hold_fraction)),
            _log_uniform(rng, *v.eccentric_ratio),
            float(rng.uniform(*v.bottom_pause_s)),
        )
        rom = {str(ex): float(rng.uniform(*v.rom_deg[str(ex)])) for ex in EXERCISES}
        return replace(person, tempo=tempo, rom_deg=rom, fidget_per_min=float(rng.uniform(*v.fidget_per_min)))

    def n_sets(self) -> int:
        lo, hi = self.v.sets_per_exercise
        return int(self.rng.integers(lo, hi + 1))

    # -- set level -------------------------------------------------------------------------------------

    def set_style(self, exercise: Exercise, tempo: Tempo, rom_deg: float, n_reps: int) -> SetStyle:
        """One set's style: pace, blocks or low range, drift, irregular tempo, movements between reps.

        ``tempo`` is the person's (before the exercise's own scaling), ``rom_deg`` the set's planned range;
        the style's blocks hold ``n_reps`` reps unless the set is a block set (then 2-3 blocks of 4-10).
        """
        v, rng = self.v, self.rng
        t = _scaled(self._exercise_tempo(exercise, tempo), float(np.exp(rng.normal(0.0, v.set_pace_sd))))
        fast_rom = 1.0
        if rng.random() < v.fast_set_prob:
            t = _scaled(t, float(rng.uniform(*v.fast_scale)))
            fast_rom = float(rng.uniform(*v.fast_rom_scale))
        kind = rng.random()
        if kind < v.block_set_prob and rom_deg >= 14.0:
            # a protocol of blocks needs room for a faster and a smaller block
            t = _scaled(t, max(1.0, 2.0 / _rep_s(t)))
            blocks = self._blocks(_rep_s(t), rom_deg)
        elif kind < v.block_set_prob + v.low_rom_prob:
            blocks = (
                Block(n_reps=n_reps, label="small", rom_scale=float(rng.uniform(*v.low_rom_deg)) / rom_deg),
            )
        else:
            blocks = (Block(n_reps=n_reps, label="fast" if fast_rom < 1.0 else "normal", rom_scale=fast_rom),)
        t = _scaled(t, float(np.clip(_rep_s(t), *v.set_rep_s)) / _rep_s(t))
        hold_jitter = float(rng.uniform(*v.hold_jitter))
        long_hold_prob = float(rng.uniform(*v.long_hold_prob))
        bridge = exercise is Exercise.SINGLE_LEG_GLUTE_BRIDGE
        if bridge and rng.random() < v.bridge_long_hold_prob:
            # held ~5 s, and steadily so: the long hold is the exercise, not an irregularity
            t = replace(t, top_hold_s=float(rng.uniform(*v.bridge_hold_s)))
            hold_jitter, long_hold_prob = min(hold_jitter, 0.2), 0.0
        small = min(b.rom_scale for b in blocks) * rom_deg
        move_hi = max(min(v.set_movement_deg[1], 0.4 * small), v.set_movement_deg[0])
        return SetStyle(
            tempo=t,
            blocks=blocks,
            rom_drift=float(rng.uniform(*v.rom_drift)),
            tempo_jitter=float(rng.uniform(*v.tempo_jitter)),
            hold_jitter=hold_jitter,
            long_hold_prob=long_hold_prob,
            skew=v.skew,
            movement_prob=float(rng.uniform(*v.set_movement_prob)),
            movement_deg=(v.set_movement_deg[0], move_hi),
            min_rom_deg=v.min_rom_deg,
            max_speed_dps=self.peak_speed_dps * (v.bridge_speed_scale if bridge else 1.0),
        )

    @staticmethod
    def _exercise_tempo(exercise: Exercise, tempo: Tempo) -> Tempo:
        model = EXERCISES[exercise]
        return Tempo(
            concentric_s=tempo.concentric_s * model.tempo_scale,
            top_hold_s=tempo.top_hold_s * model.hold_scale,
            eccentric_s=tempo.eccentric_s * model.tempo_scale,
            bottom_pause_s=tempo.bottom_pause_s,
        )

    def _blocks(self, rep_s: float, rom_deg: float) -> tuple[Block, ...]:
        """A first block at the set's pace, then fast and/or small blocks in random order."""
        v, rng = self.v, self.rng
        lo, hi = v.block_reps
        later = [str(k) for k in rng.permutation(["fast", "small"])[: int(rng.integers(1, 3))]]
        blocks = [Block(n_reps=int(rng.integers(lo, hi + 1)))]
        for label in later:
            n = int(rng.integers(lo, hi + 1))
            pause = float(rng.uniform(*v.block_pause_s))
            if label == "fast":
                k = max(float(rng.uniform(*v.fast_block_scale)), v.set_rep_s[0] / rep_s)
                rom_k = float(rng.uniform(*v.fast_rom_scale))
                blocks.append(
                    Block(n_reps=n, label=label, tempo_scale=k, rom_scale=rom_k, pause_before_s=pause)
                )
            else:
                k = max(float(rng.uniform(*v.small_block_scale)), v.low_rom_deg[0] / rom_deg)
                blocks.append(Block(n_reps=n, label=label, rom_scale=k, pause_before_s=pause))
        return tuple(blocks)

    # -- rests and the passive leg ---------------------------------------------------------------------

    def _movements(
        self, duration_s: float, per_min: float, amplitude_deg: tuple[float, float], posture: Posture | None
    ) -> tuple[Movement, ...]:
        rng = self.rng
        n = int(rng.poisson(per_min * duration_s / 60.0))
        weights = np.array([1.0, 0.6, 1.0]) if posture is Posture.STANDING else None
        out = []
        for _ in range(n):
            kind = str(rng.choice(KINDS, p=MOVEMENT_KIND_P))
            mv = draw_movement(rng, kind, start_s=0.0, amplitude_deg=amplitude_deg, weights=weights)
            room = duration_s - mv.duration_s - 1.0
            if room > 0.5:
                out.append(replace(mv, start_s=float(rng.uniform(0.5, room))))
        return tuple(sorted(out, key=lambda m: m.start_s))

    def rest_movements(self, duration_s: float, posture: Posture) -> tuple[Movement, ...]:
        """Fidgets, repositioning and leg shakes during a rest of ``duration_s`` (s) in ``posture``."""
        per_min = float(self.rng.uniform(*self.v.rest_movements_per_min))
        return self._movements(duration_s, per_min, self.v.rest_movement_deg, posture)

    def passive(self, tempo: Tempo, exercise: Exercise, n_reps: int) -> PassiveStyle:
        """How the resting leg rides along in one passive set: bumps, rocking, movements."""
        a = _log_uniform(self.rng, *self.v.passive_bump_g)
        rocking = _log_uniform(self.rng, *self.v.passive_rocking)
        roll = (
            float(self.rng.uniform(*self.v.passive_roll))
            if self.rng.random() < self.v.passive_roll_prob
            else 0.0
        )
        # the set lasts about n_reps planned reps; movements are placed within that
        t = self._exercise_tempo(exercise, tempo)
        est_s = n_reps * (_rep_s(t) + t.bottom_pause_s)
        per_min = float(self.rng.uniform(*self.v.passive_movements_per_min))
        movements = self._movements(est_s, per_min, self.v.rest_movement_deg, None)
        return PassiveStyle(bump_g=(a, 2.0 * a), rocking=rocking, roll=roll, movements=movements)
