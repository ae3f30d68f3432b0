"""Rep model: the thigh's rotation angle through one set, and the ground truth read back from it.

A rep is concentric (lift) -> top hold -> eccentric (return) -> bottom pause. Each moving phase is a
minimum-jerk segment on a randomly warped time axis, so no two reps have the same profile. Holds sag a
little; fatigue lengthens the concentric phase and shrinks the range late in a set; some reps are partial.

Ground truth is computed from the generated angle (not copied from the plan): a phase starts and ends
where the angular speed crosses 5 % of that phase's peak speed, searched outwards from the peak.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import numpy.typing as npt

from simulate.kinematics import FloatArray, skewed_min_jerk
from simulate.movements import Movement, draw_movement

#: Threshold of the movement-onset convention (fraction of the phase's peak angular speed).
ONSET_FRACTION = 0.05


@dataclass(frozen=True, slots=True, kw_only=True)
class Tempo:
    """Planned phase durations in seconds (concentric, top hold, eccentric, bottom pause)."""

    concentric_s: float
    top_hold_s: float
    eccentric_s: float
    bottom_pause_s: float


@dataclass(frozen=True, slots=True, kw_only=True)
class RepTruth:
    """One rep's truth; times in seconds on the set's own grid (0 = first sample of the set)."""

    start_s: float
    top_start_s: float
    top_end_s: float
    end_s: float
    rom_deg: float
    partial: bool
    peak_concentric_speed_dps: float


@dataclass(frozen=True, slots=True, kw_only=True)
class SetMotion:
    """A set's angle trace on a uniform grid plus its truth.

    ``angle_deg`` (m,) is the rotation angle about the exercise axis from the bottom pose; ``hold`` (m,)
    is 1 during top holds and 0 elsewhere (tremor is stronger there); ``rep_index`` (m,) which rep each
    sample belongs to (for per-rep axis jitter).
    """

    fs_hz: float
    angle_deg: FloatArray
    hold: FloatArray
    rep_index: FloatArray
    reps: tuple[RepTruth, ...]
    velocity_loss: float | None
    #: movements that are not reps, in the pauses between reps (times on the set's grid)
    movements: tuple[Movement, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class Block:
    """Consecutive reps of one kind within a set (the UCI protocol: 10 normal, 10 fast, 10 small).

    ``tempo_scale`` multiplies the phase durations (0.45: a fast block), ``rom_scale`` the range (0.35: a
    low-amplitude block), ``pause_before_s`` is added to the pause before the block's first rep (s).
    """

    n_reps: int
    label: str = "normal"
    tempo_scale: float = 1.0
    rom_scale: float = 1.0
    pause_before_s: float = 0.0


@dataclass(frozen=True, slots=True, kw_only=True)
class SetStyle:
    """How one set departs from the steady default rep model (the wide population draws one per set).

    - ``tempo``: the set's mean phase durations as performed (s, the exercise's own scaling included).
    - ``blocks``: the set's reps in consecutive blocks; their ``n_reps`` sum to the set's reps.
    - ``rom_drift``: fractional change of the range from the first to the last rep, on top of fatigue
      (negative: shrinking; positive: warming up).
    - ``tempo_jitter``, ``hold_jitter``, ``pause_jitter``: rep-to-rep log standard deviation of the moving
      phases, the top holds and the bottom pauses (irregular tempo).
    - ``long_hold_prob``: chance that a rep's top hold is 2-3x as long as planned.
    - ``skew``: largest warp of the minimum-jerk profiles (speed peak earlier or later), below 0.5.
    - ``movement_prob``: chance, per gap between two reps, of a fidget, repositioning or leg shake there
      (the pause grows to make room); ``movement_deg`` their size range (deg).
    - ``min_phase_s``: shortest concentric/eccentric phase (s); brisk reps need less than the default.
    - ``min_rom_deg``: no rep moves less (deg), whatever drift, fatigue and small blocks do; reps of a
      block with a smaller range (``rom_scale`` < 1) are never partial.
    - ``max_hold_s``: no top hold lasts longer (s), whatever jitter and long holds do.
    - ``max_speed_dps``: no moving phase's peak angular speed exceeds this (deg/s): a phase is lengthened
      until 1.875 x range / duration fits (brisk reps are small reps; nobody snaps 70 deg in 0.3 s).
    """

    tempo: Tempo
    blocks: tuple[Block, ...]
    rom_drift: float = 0.0
    tempo_jitter: float = 0.10
    hold_jitter: float = 0.18
    pause_jitter: float = 0.25
    long_hold_prob: float = 0.0
    skew: float = 0.25
    movement_prob: float = 0.0
    movement_deg: tuple[float, float] = (1.0, 4.0)
    min_phase_s: float = 0.25
    min_rom_deg: float = 0.0
    max_hold_s: float = 10.0
    max_speed_dps: float = float("inf")

    @property
    def n_reps(self) -> int:
        return sum(b.n_reps for b in self.blocks)

    def per_rep(self, name: str) -> FloatArray:
        """A block attribute (``tempo_scale``, ``rom_scale``) repeated for every rep of its block."""
        return np.repeat([float(getattr(b, name)) for b in self.blocks], [b.n_reps for b in self.blocks])

    def as_dict(self) -> dict[str, object]:
        """The truth entry: blocks (first rep index, count, kind, scales), drift, jitters."""
        first = np.cumsum([0] + [b.n_reps for b in self.blocks])[:-1]
        return {
            "blocks": [
                {
                    "first_rep": int(i),
                    "n_reps": b.n_reps,
                    "label": b.label,
                    "tempo_scale": round(b.tempo_scale, 3),
                    "rom_scale": round(b.rom_scale, 3),
                    "pause_before_s": round(b.pause_before_s, 2),
                }
                for i, b in zip(first, self.blocks, strict=True)
            ],
            "tempo_s": [
                round(self.tempo.concentric_s, 3),
                round(self.tempo.top_hold_s, 3),
                round(self.tempo.eccentric_s, 3),
                round(self.tempo.bottom_pause_s, 3),
            ],
            "rom_drift": round(self.rom_drift, 3),
            "tempo_jitter": round(self.tempo_jitter, 3),
            "hold_jitter": round(self.hold_jitter, 3),
        }


def plan_durations(
    rng: np.random.Generator,
    n_reps: int,
    tempo: Tempo,
    fatigue: float,
    style: SetStyle | None = None,
) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
    """Per-rep phase durations (s): jitter around ``tempo``; concentric slows with ``fatigue`` in [0, 1].

    With a ``style``, its jitters, block tempo and shortest phases apply (same number of draws).
    """
    p = np.linspace(0.0, 1.0, n_reps) if n_reps > 1 else np.zeros(1)
    sd = (0.10, 0.18, 0.25) if style is None else (style.tempo_jitter, style.hold_jitter, style.pause_jitter)

    def jit(sd: float) -> FloatArray:
        return np.exp(rng.normal(0.0, sd, n_reps))

    # a set taken to failure (fatigue 1) ends with concentric phases ~60 % slower (velocity loss ~50 %)
    slow = 1.0 + fatigue * 0.6 * p**2
    con = tempo.concentric_s * jit(sd[0]) * slow
    hold = tempo.top_hold_s * jit(sd[1]) * (1.0 - 0.3 * fatigue * p**2)
    ecc = tempo.eccentric_s * jit(sd[0]) * (1.0 + 0.15 * fatigue * p**2)
    pause = tempo.bottom_pause_s * jit(sd[2])
    if style is None:
        return (
            np.maximum(con, 0.35),
            np.maximum(hold, 0.05),
            np.maximum(ecc, 0.4),
            np.maximum(pause, 0.15),
        )
    k = style.per_rep("tempo_scale")
    return (
        np.maximum(con * k, style.min_phase_s),
        np.maximum(hold * k, 0.05),
        np.maximum(ecc * k, style.min_phase_s),
        np.maximum(pause * k, 0.12),
    )


@dataclass(slots=True, kw_only=True)
class _SetPlan:
    """Per-rep plan of a set: phase durations (s), range (deg), partial flags, bottom angles (deg)."""

    con: FloatArray
    hold: FloatArray
    ecc: FloatArray
    pause: FloatArray
    rom: FloatArray
    #: the range before partial reps were cut short (deg)
    rom_full: FloatArray
    partial: npt.NDArray[np.bool_]
    base: FloatArray
    skew: float
    #: (index of the rep a movement follows, movement with its start relative to that rep's planned end)
    movements: list[tuple[int, Movement]]


def _plan_set(
    rng: np.random.Generator,
    n_reps: int,
    rom_deg: float,
    tempo: Tempo,
    fatigue: float,
    partial_prob: float,
    style: SetStyle | None,
) -> _SetPlan:
    """Draw a set's per-rep plan (the default model's draws first, in their historical order)."""
    con, hold, ecc, pause = plan_durations(rng, n_reps, tempo, fatigue, style)
    p = np.linspace(0.0, 1.0, n_reps) if n_reps > 1 else np.zeros(1)
    rom = rom_deg * np.exp(rng.normal(0.0, 0.04, n_reps)) * (1.0 - 0.18 * fatigue * p**2)
    partial = rng.random(n_reps) < partial_prob
    # the first rep is rarely partial; a partial rep reaches 35-65 % of the range
    partial[0] = False
    rom_full = rom
    rom = np.where(partial, rom * rng.uniform(0.35, 0.65, n_reps), rom)
    # the bottom position wanders a little from rep to rep
    base = np.concatenate([[0.0], np.cumsum(rng.normal(0.0, 0.6, n_reps))])
    base -= np.linspace(0.0, base[-1], n_reps + 1) * 0.5
    plan = _SetPlan(
        con=con,
        hold=hold,
        ecc=ecc,
        pause=pause,
        rom=rom,
        rom_full=rom_full,
        partial=partial,
        base=base,
        skew=0.25,
        movements=[],
    )
    if style is not None:
        _apply_style(rng, plan, style, p)
    return plan


def _apply_style(rng: np.random.Generator, plan: _SetPlan, style: SetStyle, p: FloatArray) -> None:
    """Blocks, range drift, long holds, block pauses and movements in the gaps between reps."""
    n = plan.rom.shape[0]
    k = style.per_rep("rom_scale")
    small = k < 0.99
    # a small block's reps are small already: undo their partial draw (rom / partial fraction) first
    frac = np.where(plan.partial & small, plan.rom / np.maximum(plan.rom_full, 1e-9), 1.0)
    plan.partial = plan.partial & ~small
    plan.rom = np.maximum(plan.rom / frac * k * (1.0 + style.rom_drift * p), style.min_rom_deg)
    long = rng.random(n) < style.long_hold_prob
    plan.hold = np.minimum(np.where(long, plan.hold * rng.uniform(2.0, 3.0, n), plan.hold), style.max_hold_s)
    plan.skew = style.skew
    # minimum-jerk peak speed is 1.875 x range / duration; the skewed profiles peak up to ~1.4x higher
    shortest = 1.875 * (1.0 + style.skew) * plan.rom / style.max_speed_dps
    plan.con = np.maximum(plan.con, shortest)
    plan.ecc = np.maximum(plan.ecc, shortest)
    first = np.cumsum([0] + [b.n_reps for b in style.blocks])[:-1]
    for i, b in zip(first, style.blocks, strict=True):
        if i > 0:
            plan.pause[i - 1] += b.pause_before_s
    kinds = rng.choice(["fidget", "reposition", "shake"], size=n, p=[0.5, 0.3, 0.2])
    happens = np.asarray(rng.random(n) < style.movement_prob, dtype=bool)
    for i in np.flatnonzero(happens[: n - 1]):
        # a margin either side keeps the movement clear of both reps' 5 % crossings
        mv = draw_movement(rng, str(kinds[i]), start_s=_MOVE_MARGIN_S, amplitude_deg=style.movement_deg)
        plan.pause[i] += mv.duration_s + 2.0 * _MOVE_MARGIN_S
        plan.movements.append((int(i), mv))


#: Clearance (s) between a rep's planned end and a movement in the following pause, and after it.
_MOVE_MARGIN_S = 0.35


def _render(
    rng: np.random.Generator, plan: _SetPlan, fs_hz: float, lead_s: float, tail_s: float
) -> tuple[FloatArray, FloatArray, FloatArray, list[tuple[float, float, float, float]]]:
    """The angle trace (deg), hold flags and rep index per sample, and each rep's planned phase times."""
    con, hold, ecc, pause, rom, base = plan.con, plan.hold, plan.ecc, plan.pause, plan.rom, plan.base
    n_reps = rom.shape[0]
    total_s = lead_s + float(np.sum(con + hold + ecc) + np.sum(pause[:-1])) + tail_s
    m = int(np.ceil(total_s * fs_hz)) + 1
    t = np.arange(m) / fs_hz
    angle = np.full(m, base[0])
    hold_flag = np.zeros(m)
    rep_idx = np.zeros(m)
    planned: list[tuple[float, float, float, float]] = []
    t0 = lead_s
    for i in range(n_reps):
        c0, c1 = t0, t0 + con[i]
        h1 = c1 + hold[i]
        e1 = h1 + ecc[i]
        top = base[i] + rom[i]
        # sag in the hold: bounded so its speed stays well below 5 % of the concentric peak speed
        peak_con = 1.875 * rom[i] / con[i]
        sag = min(abs(rng.normal(0.012, 0.006)) * rom[i], 0.02 * peak_con * hold[i] / 1.875)
        i_c0, i_c1 = np.searchsorted(t, [c0, c1])
        i_h1, i_e1 = np.searchsorted(t, [h1, e1])
        u = (t[i_c0:i_c1] - c0) / con[i]
        angle[i_c0:i_c1] = base[i] + rom[i] * skewed_min_jerk(u, rng.uniform(-plan.skew, plan.skew))
        u = (t[i_c1:i_h1] - c1) / hold[i]
        angle[i_c1:i_h1] = top - sag * skewed_min_jerk(u, 0.0)
        hold_flag[i_c1:i_h1] = 1.0
        u = (t[i_h1:i_e1] - h1) / ecc[i]
        angle[i_h1:i_e1] = (top - sag) + (base[i + 1] - top + sag) * skewed_min_jerk(
            u, rng.uniform(-plan.skew, plan.skew)
        )
        angle[i_e1:] = base[i + 1]
        rep_idx[i_c0:] = i
        planned.append((c0, c1, h1, e1))
        t0 = e1 + (pause[i] if i < n_reps - 1 else 0.0)
    return angle, hold_flag, rep_idx, planned


def generate_set(
    rng: np.random.Generator,
    *,
    fs_hz: float,
    n_reps: int,
    rom_deg: float,
    tempo: Tempo,
    fatigue: float = 0.3,
    partial_prob: float = 0.05,
    lead_s: float = 1.5,
    tail_s: float = 1.5,
    style: SetStyle | None = None,
) -> SetMotion:
    """Generate the angle trace of one set of ``n_reps`` reps and read its truth back from it.

    ``rom_deg`` is the person's full range for this exercise; ``fatigue`` in [0, 1] is how close the set
    ends to failure (0: easy, 1: last rep is a grind). ``lead_s``/``tail_s``: still time before/after.
    ``style`` (optional) adds blocks, range drift, irregular tempo and movements between reps; its
    ``tempo`` replaces ``tempo`` and its blocks must hold ``n_reps`` reps.
    """
    if style is not None:
        if style.n_reps != n_reps:
            raise ValueError(f"the style's blocks hold {style.n_reps} reps, the set {n_reps}")
        tempo = style.tempo
    plan = _plan_set(rng, n_reps, rom_deg, tempo, fatigue, partial_prob, style)
    angle, hold_flag, rep_idx, planned = _render(rng, plan, fs_hz, lead_s, tail_s)
    reps = read_truth(angle, fs_hz, planned, plan.partial)
    movements = tuple(replace(mv, start_s=planned[i][3] + mv.start_s) for i, mv in plan.movements)
    return SetMotion(
        fs_hz=fs_hz,
        angle_deg=angle,
        hold=hold_flag,
        rep_index=rep_idx,
        reps=reps,
        velocity_loss=velocity_loss(reps),
        movements=movements,
    )


def _crossing(speed: FloatArray, peak_i: int, thr: float, lo: int, hi: int, step: int) -> int:
    """Index of the first sample from ``peak_i`` towards ``lo`` (step -1) or ``hi`` (+1) below ``thr``."""
    if step < 0:
        seg = speed[lo : peak_i + 1][::-1]
        below = np.flatnonzero(seg < thr)
        return peak_i - int(below[0]) if below.size else lo
    seg = speed[peak_i:hi]
    below = np.flatnonzero(seg < thr)
    return peak_i + int(below[0]) if below.size else hi - 1


def read_truth(
    angle_deg: FloatArray,
    fs_hz: float,
    planned: list[tuple[float, float, float, float]],
    partial: npt.NDArray[np.bool_] | list[bool],
) -> tuple[RepTruth, ...]:
    """Phase boundaries and ROM of every rep, measured on ``angle_deg`` (deg, uniform grid at ``fs_hz``).

    ``planned`` gives each rep's (concentric start, concentric end, eccentric start, eccentric end) in s;
    it only locates the phases. Boundaries are where |d angle/dt| crosses 5 % of the phase's peak speed,
    searched outwards from the peak. ``rom_deg`` is the maximum angle between start and top end minus
    the angle at the start.
    """
    speed = np.abs(np.gradient(angle_deg) * fs_hz)
    m = angle_deg.shape[0]
    out: list[RepTruth] = []
    prev_end = 0
    for k, (c0, c1, h1, e1) in enumerate(planned):
        nxt = planned[k + 1][0] if k + 1 < len(planned) else m / fs_hz
        i_c0, i_c1, i_h1, i_e1 = (round(x * fs_hz) for x in (c0, c1, h1, e1))
        i_next = min(round(nxt * fs_hz), m)
        mid_hold = (i_c1 + i_h1) // 2
        pk_c = i_c0 + int(np.argmax(speed[i_c0 : max(i_c1, i_c0 + 1)]))
        pk_e = i_h1 + int(np.argmax(speed[i_h1 : max(i_e1, i_h1 + 1)]))
        thr_c = ONSET_FRACTION * speed[pk_c]
        thr_e = ONSET_FRACTION * speed[pk_e]
        start = _crossing(speed, pk_c, thr_c, prev_end, pk_c, -1)
        top_start = _crossing(speed, pk_c, thr_c, pk_c, max(mid_hold, pk_c + 1), +1)
        top_end = _crossing(speed, pk_e, thr_e, max(mid_hold, top_start), pk_e, -1)
        end = _crossing(speed, pk_e, thr_e, pk_e, max(i_next, pk_e + 1), +1)
        rom = float(np.max(angle_deg[start : top_end + 1]) - angle_deg[start])
        out.append(
            RepTruth(
                start_s=start / fs_hz,
                top_start_s=top_start / fs_hz,
                top_end_s=top_end / fs_hz,
                end_s=end / fs_hz,
                rom_deg=rom,
                partial=bool(partial[k]),
                peak_concentric_speed_dps=float(speed[pk_c]),
            )
        )
        prev_end = end
    return tuple(out)


def velocity_loss(reps: tuple[RepTruth, ...] | list[RepTruth]) -> float | None:
    """Fractional drop of mean concentric angular speed (ROM / concentric duration).

    Reference: the fastest of the first three full reps; compared with the mean of the last two full reps.
    ``None`` with fewer than four full reps. Partial reps are left out on both sides.
    """
    full = [r for r in reps if not r.partial]
    if len(full) < 4:
        return None
    v = np.array([r.rom_deg / max(r.top_start_s - r.start_s, 1e-6) for r in full])
    best = float(np.max(v[:3]))
    last = float(np.mean(v[-2:]))
    return max(0.0, 1.0 - last / best) if best > 0 else None
