"""Rep model: the thigh's rotation angle through one set, and the ground truth read back from it.

A rep is concentric (lift) -> top hold -> eccentric (return) -> bottom pause. Each moving phase is a
minimum-jerk segment on a randomly warped time axis, so no two reps have the same profile. Holds sag a
little; fatigue lengthens the concentric phase and shrinks the range late in a set; some reps are partial.

Ground truth is computed from the generated angle (not copied from the plan): a phase starts and ends
where the angular speed crosses 5 % of that phase's peak speed, searched outwards from the peak.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from simulate.kinematics import FloatArray, skewed_min_jerk

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


def plan_durations(
    rng: np.random.Generator, n_reps: int, tempo: Tempo, fatigue: float
) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
    """Per-rep phase durations (s): jitter around ``tempo``; concentric slows with ``fatigue`` in [0, 1]."""
    p = np.linspace(0.0, 1.0, n_reps) if n_reps > 1 else np.zeros(1)

    def jit(sd: float) -> FloatArray:
        return np.exp(rng.normal(0.0, sd, n_reps))

    # a set taken to failure (fatigue 1) ends with concentric phases ~60 % slower (velocity loss ~50 %)
    slow = 1.0 + fatigue * 0.6 * p**2
    con = tempo.concentric_s * jit(0.10) * slow
    hold = tempo.top_hold_s * jit(0.18) * (1.0 - 0.3 * fatigue * p**2)
    ecc = tempo.eccentric_s * jit(0.10) * (1.0 + 0.15 * fatigue * p**2)
    pause = tempo.bottom_pause_s * jit(0.25)
    return (
        np.maximum(con, 0.35),
        np.maximum(hold, 0.05),
        np.maximum(ecc, 0.4),
        np.maximum(pause, 0.15),
    )


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
) -> SetMotion:
    """Generate the angle trace of one set of ``n_reps`` reps and read its truth back from it.

    ``rom_deg`` is the person's full range for this exercise; ``fatigue`` in [0, 1] is how close the set
    ends to failure (0: easy, 1: last rep is a grind). ``lead_s``/``tail_s``: still time before/after.
    """
    con, hold, ecc, pause = plan_durations(rng, n_reps, tempo, fatigue)
    p = np.linspace(0.0, 1.0, n_reps) if n_reps > 1 else np.zeros(1)
    rom = rom_deg * np.exp(rng.normal(0.0, 0.04, n_reps)) * (1.0 - 0.18 * fatigue * p**2)
    partial = rng.random(n_reps) < partial_prob
    # the first rep is rarely partial; a partial rep reaches 35-65 % of the range
    partial[0] = False
    rom = np.where(partial, rom * rng.uniform(0.35, 0.65, n_reps), rom)
    # the bottom position wanders a little from rep to rep
    base = np.concatenate([[0.0], np.cumsum(rng.normal(0.0, 0.6, n_reps))])
    base -= np.linspace(0.0, base[-1], n_reps + 1) * 0.5

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
        angle[i_c0:i_c1] = base[i] + rom[i] * skewed_min_jerk(u, rng.uniform(-0.25, 0.25))
        u = (t[i_c1:i_h1] - c1) / hold[i]
        angle[i_c1:i_h1] = top - sag * skewed_min_jerk(u, 0.0)
        hold_flag[i_c1:i_h1] = 1.0
        u = (t[i_h1:i_e1] - h1) / ecc[i]
        angle[i_h1:i_e1] = (top - sag) + (base[i + 1] - top + sag) * skewed_min_jerk(
            u, rng.uniform(-0.25, 0.25)
        )
        angle[i_e1:] = base[i + 1]
        rep_idx[i_c0:] = i
        planned.append((c0, c1, h1, e1))
        t0 = e1 + (pause[i] if i < n_reps - 1 else 0.0)
    reps = read_truth(angle, fs_hz, planned, partial)
    return SetMotion(
        fs_hz=fs_hz,
        angle_deg=angle,
        hold=hold_flag,
        rep_index=rep_idx,
        reps=reps,
        velocity_loss=velocity_loss(reps),
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
