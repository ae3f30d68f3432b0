"""Activity generators: right-thigh orientation and sensor position for each kind of session segment.

Every generator returns a :class:`Chunk` on a uniform fine grid (``fs_hz``), in the segment's local
frame (heading 0, hip above the origin). ``simulate.session`` applies heading and position offsets,
joins chunks with smooth transitions and hands the result to the sensor model.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np
from scipy import signal

from hipsync.records import Exercise
from simulate.body import (
    EXERCISES,
    PELVIS,
    SENSOR_LEVER_M,
    THIGH_LENGTH_M,
    Posture,
    hip_position,
    hip_quat,
)
from simulate.kinematics import (
    ABDUCTION_AXIS,
    EXTERNAL_ROTATION_AXIS,
    FLEXION_AXIS,
    GRAVITY_MPS2,
    FloatArray,
    band_noise,
    min_jerk,
    qapply,
    qfrom_rotvec,
    qmul,
    qslerp,
    qyaw,
    smooth_noise,
    unit,
)
from simulate.movements import Movement, movements_rotvec
from simulate.reps import SetMotion, SetStyle, Tempo, generate_set


@dataclass(frozen=True, slots=True, kw_only=True)
class Person:
    """A simulated trainee: ranges of motion (deg) per exercise, preferred tempo, tremor and habits."""

    rom_deg: dict[str, float]
    tempo: Tempo
    tremor_deg: float
    fidget_per_min: float
    stride_hz: float
    walk_speed_mps: float
    thigh_swing_deg: float
    heel_strike_g: float
    #: lying on the side, the body rolls a little towards the back (+) or the front (-), deg
    side_lying_roll_deg: float = 0.0
    #: the leg underneath is turned in (-) or out (+) about its long axis, deg
    under_leg_rotation_deg: float = 0.0


def draw_person(rng: np.random.Generator) -> Person:
    """A random person within the ranges of ../shared/reference/training.md."""
    rom = {}
    for ex, model in EXERCISES.items():
        lo, hi = model.rom_deg
        # some people move through less than the textbook range (the real UCI subject: ~22 deg)
        rom[str(ex)] = float(rng.uniform(0.8 * lo, hi - 0.1 * (hi - lo)))
    return Person(
        rom_deg=rom,
        tempo=Tempo(
            concentric_s=float(rng.uniform(0.8, 1.8)),
            # from no hold at all (real MEx clams) to several seconds (real UCI leg raises, bridges)
            top_hold_s=float(rng.uniform(0.2, 3.0)),
            eccentric_s=float(rng.uniform(0.8, 2.8)),
            bottom_pause_s=float(rng.uniform(0.2, 1.5)),
        ),
        # thigh tremor is tiny: 0.003-0.01 deg (x3 in loaded holds) gives <~0.03 g at the sensor
        tremor_deg=float(rng.uniform(0.003, 0.01)),
        fidget_per_min=float(rng.uniform(1.0, 5.0)),
        stride_hz=float(rng.uniform(0.85, 1.05)),
        walk_speed_mps=float(rng.uniform(0.9, 1.4)),
        thigh_swing_deg=float(rng.uniform(15.0, 21.0)),
        heel_strike_g=float(rng.uniform(0.8, 2.2)),
        side_lying_roll_deg=float(np.clip(rng.normal(0.0, 12.0), -30.0, 30.0)),
        under_leg_rotation_deg=float(rng.uniform(-45.0, 45.0)),
    )


def pelvis(posture: Posture, person: Person) -> FloatArray:
    """Pelvis quaternion of ``posture`` for ``person`` (side-lying rolls a little towards front or back)."""
    if posture in (Posture.LYING_LEFT, Posture.LYING_RIGHT) and person.side_lying_roll_deg:
        sign = 1.0 if posture is Posture.LYING_LEFT else -1.0
        roll = qfrom_rotvec(np.deg2rad(sign * person.side_lying_roll_deg) * np.array([0.0, 0.0, 1.0]))
        return qmul(PELVIS[posture], roll)
    return PELVIS[posture]


@dataclass(slots=True, kw_only=True)
class Chunk:
    """One segment on the fine grid: right-thigh world orientation quaternions ``rot`` (m, 4, xyzw),
    sensor position (m, 3) in metres, optional extra world acceleration (m, 3) in m/s^2 (impacts), and
    its truth label."""

    kind: str
    rot: FloatArray
    pos: FloatArray
    extra_acc: FloatArray | None = None
    info: dict[str, object] = field(default_factory=dict)
    set_motion: SetMotion | None = None

    @property
    def n(self) -> int:
        return int(self.pos.shape[0])


def _sensor_pos(rot: FloatArray, pivot_m: FloatArray, lever_m: FloatArray) -> FloatArray:
    return np.asarray(pivot_m + qapply(rot, np.broadcast_to(lever_m, (rot.shape[0], 3))), dtype=float)


def fidget_rotvec(
    rng: np.random.Generator, m: int, fs_hz: float, rate_per_min: float, amp_deg: float, weights: FloatArray
) -> FloatArray:
    """Small posture shifts as rotation vectors (rad, thigh frame), shape (m, 3).

    Events arrive as a Poisson process; each rises with a minimum-jerk profile over 0.4-1.2 s, then
    either stays (a new resting pose) or returns after 0.5-4 s. ``weights`` scales the axes (x, y, z).
    """
    out = np.zeros((m, 3))
    duration_s = m / fs_hz
    n_ev = int(rng.poisson(rate_per_min * duration_s / 60.0))
    t = np.arange(m) / fs_hz
    for _ in range(n_ev):
        t0 = rng.uniform(0.0, max(duration_s - 1.0, 0.1))
        rise = rng.uniform(0.4, 1.2)
        vec = unit(rng.normal(0.0, 1.0, 3) * weights) * np.deg2rad(amp_deg * rng.uniform(0.3, 1.0))
        prof = min_jerk((t - t0) / rise)
        if rng.random() < 0.6:
            back = t0 + rise + rng.uniform(0.5, 4.0)
            prof = prof - min_jerk((t - back) / rng.uniform(0.5, 1.5))
        out += prof[:, None] * vec
    return out


def _perturb(
    rng: np.random.Generator, m: int, fs_hz: float, slow_deg: float, tremor_deg: FloatArray | float
) -> FloatArray:
    """Slow postural drift plus physiological tremor as rotation vectors (rad), shape (m, 3)."""
    rv = smooth_noise(rng, m, fs_hz, 0.25, np.deg2rad(slow_deg), dims=3)
    trem = band_noise(rng, m, fs_hz, (6.0, 11.0), 1.0, dims=3)
    return np.asarray(rv + trem * np.deg2rad(np.asarray(tremor_deg)).reshape(-1, 1), dtype=float)


def hold_posture(
    rng: np.random.Generator,
    *,
    fs_hz: float,
    posture: Posture,
    pose_deg: tuple[float, float, float],
    duration_s: float,
    person: Person,
    kind: str = "rest",
    movements: tuple[Movement, ...] = (),
) -> Chunk:
    """Staying in ``posture`` with the hip at ``pose_deg`` (flexion, abduction, ext. rotation), fidgeting.

    ``movements`` (times in s from the chunk's start) are added on top: larger fidgets, repositioning,
    leg shakes; they are listed in ``info["movements"]``.
    """
    m = max(round(duration_s * fs_hz), 2)
    flex, abd, ext = pose_deg
    if posture is Posture.LYING_RIGHT:
        ext += person.under_leg_rotation_deg  # the sensor leg is the one underneath
    base = hip_quat(flex, abd, ext)
    weights = np.array([1.0, 0.6, 1.0]) if posture is Posture.STANDING else np.array([1.0, 1.0, 1.0])
    amp = 3.0 if posture is Posture.STANDING else 6.0
    rv = fidget_rotvec(rng, m, fs_hz, person.fidget_per_min, amp, weights)
    rv += _perturb(rng, m, fs_hz, 0.35, person.tremor_deg * 0.3)
    if movements:
        rv += movements_rotvec(m, fs_hz, movements)
    rot = qmul(qmul(pelvis(posture, person), base), qfrom_rotvec(rv))
    hip = np.tile(hip_position(posture), (m, 1))
    if posture is Posture.STANDING:
        hip[:, :2] += smooth_noise(rng, m, fs_hz, 0.3, 0.006, dims=2)
    info: dict[str, object] = {"posture": str(posture)}
    if movements:
        info["movements"] = movements
    return Chunk(kind=kind, rot=rot, pos=_sensor_pos(rot, hip, SENSOR_LEVER_M), info=info)


def _exercise_tempo(tempo: Tempo, exercise: Exercise) -> Tempo:
    """The person's tempo as performed in ``exercise`` (bridges held longer, clamshells quicker)."""
    model = EXERCISES[exercise]
    return replace(
        tempo,
        concentric_s=tempo.concentric_s * model.tempo_scale,
        top_hold_s=tempo.top_hold_s * model.hold_scale,
        eccentric_s=tempo.eccentric_s * model.tempo_scale,
    )


def _rep_rotvec(rng: np.random.Generator, motion: SetMotion, axis: FloatArray) -> FloatArray:
    """The rep angle as rotation vectors (rad, thigh frame) about an axis that wanders from rep to rep."""
    m = motion.angle_deg.shape[0]
    n_reps = len(motion.reps)
    # form is never identical: the axis is interpolated between per-rep draws so it turns smoothly
    axes = unit(axis + rng.normal(0.0, 0.05, (n_reps + 1, 3)))
    knots = np.linspace(0.0, m - 1.0, n_reps + 1)
    idx = np.arange(m)
    axis_t = unit(np.column_stack([np.interp(idx, knots, axes[:, c]) for c in range(3)]))
    return np.asarray(axis_t * np.deg2rad(motion.angle_deg)[:, None], dtype=float)


def _set_texture(
    rng: np.random.Generator, motion: SetMotion, fs_hz: float, person: Person, fatigue: float
) -> FloatArray:
    """Tremor, drift, hold wobble and movement jiggle of a set as rotation vectors (rad), shape (m, 3)."""
    m = motion.angle_deg.shape[0]
    tremor = person.tremor_deg * (0.4 + motion.hold * (1.0 + 2.0 * fatigue))
    pert = _perturb(rng, m, fs_hz, 0.25, tremor)
    # holds against the band are corrected in small slow wobbles (real recordings: ~5-10 deg/s at 1-2 Hz)
    k = max(int(0.3 * fs_hz), 1)
    hold_env = np.convolve(motion.hold, np.ones(k) / k, mode="same")
    wobble = smooth_noise(rng, m, fs_hz, 1.2, 1.0, dims=3)
    pert += wobble * (np.deg2rad(rng.uniform(0.3, 1.0) * (1.0 + fatigue)) * hold_env)[:, None]
    # soft tissue and strap jiggle while moving: 2-6 Hz, growing with the angular speed
    speed = np.abs(np.gradient(motion.angle_deg)) * fs_hz
    jiggle = band_noise(rng, m, fs_hz, (2.0, 6.0), 1.0, dims=3)
    pert += jiggle * (np.deg2rad(0.003) * speed)[:, None]
    return pert


def _landing_jolts(
    rng: np.random.Generator,
    ends_s: list[float],
    m: int,
    fs_hz: float,
    impact_g: tuple[float, float],
    pert: FloatArray | None,
    rebound_deg: tuple[float, float] = (0.05, 0.3),
) -> FloatArray:
    """Vertical jolts (m/s^2, world frame, shape (m, 3)) where a leg lands on its support at ``ends_s``.

    Each is a damped 10-18 Hz oscillation of ``impact_g`` (range, g); with ``pert`` the thigh also
    rebounds a little (``rebound_deg`` at 6 Hz, added to ``pert`` in place).
    """
    extra = np.zeros((m, 3))
    tk = np.arange(int(0.25 * fs_hz)) / fs_hz
    for end_s in ends_s:
        i = int(end_s * fs_hz)
        seg = tk[: max(m - i, 0)]
        amp = rng.uniform(*impact_g) * GRAVITY_MPS2
        freq = rng.uniform(10.0, 18.0)
        extra[i : i + seg.size, 2] += amp * np.exp(-seg / 0.03) * np.sin(2 * np.pi * freq * seg)
        if pert is not None:
            bounce = (
                np.deg2rad(rng.uniform(*rebound_deg)) * np.exp(-seg / 0.08) * np.sin(2 * np.pi * 6.0 * seg)
            )
            pert[i : i + seg.size] += bounce[:, None] * unit(rng.normal(0.0, 1.0, 3))
    return extra


def exercise_set(
    rng: np.random.Generator,
    *,
    fs_hz: float,
    exercise: Exercise,
    n_reps: int,
    rom_deg: float,
    tempo: Tempo,
    fatigue: float,
    person: Person,
    partial_prob: float,
    style: SetStyle | None = None,
) -> Chunk:
    """A set trained by the sensor leg: rotation about the exercise axis by the rep model's angle.

    ``style`` (optional): blocks, range drift, irregular tempo and movements between reps (its tempo is
    used as it is, without the exercise's own scaling); the movements are listed in ``info``.
    """
    model = EXERCISES[exercise]
    motion = generate_set(
        rng,
        fs_hz=fs_hz,
        n_reps=n_reps,
        rom_deg=rom_deg,
        tempo=_exercise_tempo(tempo, exercise),
        fatigue=fatigue,
        partial_prob=partial_prob,
        lead_s=float(rng.uniform(1.0, 2.5)),
        tail_s=float(rng.uniform(1.0, 2.5)),
        style=style,
    )
    m = motion.angle_deg.shape[0]
    rep_rv = _rep_rotvec(rng, motion, model.axis)
    pert = _set_texture(rng, motion, fs_hz, person, fatigue)
    extra = None
    if model.impact_g[1] > 0:
        # the leg (or the pelvis) lands on its support at the end of every eccentric phase
        extra = _landing_jolts(rng, [r.end_s for r in motion.reps], m, fs_hz, model.impact_g, pert)
    if motion.movements:
        pert += movements_rotvec(m, fs_hz, motion.movements)
    base = qmul(pelvis(model.posture, person), hip_quat(*model.base))
    rot = qmul(qmul(base, qfrom_rotvec(rep_rv)), qfrom_rotvec(pert))
    hip = hip_position(model.posture)
    if model.pivot == "knee":
        knee = hip + qapply(base, np.array([0.0, 0.0, -THIGH_LENGTH_M]))
        pos = _sensor_pos(rot, knee, SENSOR_LEVER_M + np.array([0.0, 0.0, THIGH_LENGTH_M]))
    else:
        pos = _sensor_pos(rot, np.tile(hip, (m, 1)), SENSOR_LEVER_M)
    info: dict[str, object] = {"posture": str(model.posture), "exercise": str(exercise)}
    if style is not None:
        info.update({"style": style, "movements": motion.movements})
    return Chunk(kind="set", rot=rot, pos=pos, extra_acc=extra, info=info, set_motion=motion)


@dataclass(frozen=True, slots=True, kw_only=True)
class PassiveStyle:
    """How the resting leg rides along in one passive set (the wide population draws one per set).

    ``rocking`` multiplies the default coupling to the working leg's angle (0: still, 1: as drawn);
    ``roll``: the resting thigh also rolls about its long axis by this fraction of the working leg's angle
    (two of 23 real MEx subjects' legs underneath roll 25-40 deg with every rep of the other leg);
    ``bump_g`` (g, range): the working leg lands on the resting one at the end of each of its reps, a jolt
    with a ``rebound_deg`` (range) twitch of the resting thigh; ``movements``: fidgets, shifts, shakes.
    """

    rocking: float = 1.0
    roll: float = 0.0
    bump_g: tuple[float, float] = (0.0, 0.0)
    rebound_deg: tuple[float, float] = (0.02, 0.2)
    movements: tuple[Movement, ...] = ()


def passive_set(
    rng: np.random.Generator,
    *,
    fs_hz: float,
    exercise: Exercise,
    n_reps: int,
    rom_deg: float,
    tempo: Tempo,
    fatigue: float,
    person: Person,
    style: PassiveStyle | None = None,
) -> Chunk:
    """A set trained by the *other* leg: the sensor leg lies underneath or is the stance leg.

    It rocks with the other leg's reps (a few percent of their angle) and sways, but makes no reps.
    ``style`` (the wide population) scales the rocking and adds bumps and movements (:class:`PassiveStyle`).
    """
    model = EXERCISES[exercise]
    if model.passive_posture is None:
        raise ValueError(f"{exercise} has no passive-leg variant")
    tempo = _exercise_tempo(tempo, exercise)
    other = generate_set(rng, fs_hz=fs_hz, n_reps=n_reps, rom_deg=rom_deg, tempo=tempo, fatigue=fatigue)
    m = other.angle_deg.shape[0]
    theta = np.deg2rad(other.angle_deg)
    standing = model.passive_posture is Posture.STANDING
    if standing:
        # the stance hip adducts as the other leg lifts, and balance sway is larger
        coupling = ABDUCTION_AXIS * -rng.uniform(0.04, 0.12) + FLEXION_AXIS * rng.uniform(-0.03, 0.03)
        slow = 0.9
    else:
        # the pelvis rolls back as the top leg opens: from almost nothing to 10-15 deg of the bottom
        # thigh (the real MEx clams: subject 03 still, subjects 01 and 02 clearly rocking)
        c = rng.uniform(0.02, 0.12) if rng.random() < 0.6 else rng.uniform(0.12, 0.45)
        coupling = ABDUCTION_AXIS * c + EXTERNAL_ROTATION_AXIS * rng.uniform(-0.3, 0.3) * c
        slow = 0.35
    if style is not None:
        coupling = coupling * style.rocking + EXTERNAL_ROTATION_AXIS * style.roll
    rv = theta[:, None] * coupling + _perturb(rng, m, fs_hz, slow, person.tremor_deg * 0.5)
    extra = None
    if style is not None:
        ends = [r.end_s for r in other.reps]
        extra = _landing_jolts(rng, ends, m, fs_hz, style.bump_g, rv, rebound_deg=style.rebound_deg)
        rv += movements_rotvec(m, fs_hz, style.movements)
    flex, abd, ext = model.passive_base
    if model.passive_posture is not Posture.STANDING:
        ext += person.under_leg_rotation_deg
    base = qmul(pelvis(model.passive_posture, person), hip_quat(flex, abd, ext))
    rot = qmul(base, qfrom_rotvec(rv))
    hip = np.tile(hip_position(model.passive_posture), (m, 1))
    if standing:
        # the pelvis shifts over the stance foot when the other leg lifts
        hip[:, 1] += 0.01 * other.angle_deg / max(rom_deg, 1.0) + smooth_noise(rng, m, fs_hz, 0.5, 0.006)
    info: dict[str, object] = {
        "posture": str(model.passive_posture),
        "exercise": str(exercise),
        "n_reps": n_reps,
    }
    if style is not None:
        info.update(
            {
                "bump_g": style.bump_g,
                "rocking": style.rocking,
                "roll": style.roll,
                "movements": style.movements,
            }
        )
    return Chunk(
        kind="passive_set", rot=rot, pos=_sensor_pos(rot, hip, SENSOR_LEVER_M), extra_acc=extra, info=info
    )


def _turns(rng: np.random.Generator, t: FloatArray, duration_s: float) -> FloatArray:
    psi = np.zeros_like(t)
    t_next = rng.uniform(3.0, 10.0)
    while t_next < duration_s - 3.0:
        d = rng.uniform(1.2, 2.5)
        psi += rng.choice([-1.0, 1.0]) * rng.uniform(45.0, 180.0) * min_jerk((t - t_next) / d)
        t_next += d + rng.uniform(3.0, 12.0)
    return psi


def walk(rng: np.random.Generator, *, fs_hz: float, duration_s: float, person: Person) -> Chunk:
    """Walking: thigh swing at the stride frequency (~1 Hz), pelvis bob and sway, turns, heel strikes.

    Starts and ends standing still (speed and swing ramp over ~1.2 s).
    """
    duration_s = max(duration_s, 4.0)
    m = round(duration_s * fs_hz)
    t = np.arange(m) / fs_hz
    ramp = min(1.2, duration_s / 3.0)
    env = min_jerk(t / ramp) * min_jerk((duration_s - t) / ramp)
    stride = person.stride_hz * np.exp(rng.normal(0.0, 0.03))
    phase = 2.0 * np.pi * stride * t + rng.uniform(0.0, 2.0 * np.pi)
    amp = person.thigh_swing_deg
    flex = env * (0.45 * amp + amp * np.sin(phase) + 0.15 * amp * np.sin(2.0 * phase + 0.6)) + (1 - env) * 2.0
    abd = env * 2.0 * np.sin(phase + 1.0) + 1.0
    ext = env * 4.0 * np.sin(phase - 0.5)
    psi = _turns(rng, t, duration_s)
    pelvis_yaw = env * 4.0 * np.sin(phase)
    hip_rot = qmul(
        qmul(
            qfrom_rotvec(np.deg2rad(flex)[:, None] * FLEXION_AXIS),
            qfrom_rotvec(np.deg2rad(abd)[:, None] * ABDUCTION_AXIS),
        ),
        qfrom_rotvec(np.deg2rad(ext)[:, None] * EXTERNAL_ROTATION_AXIS),
    )
    rot = qmul(qyaw(psi + pelvis_yaw), hip_rot)
    speed = env * person.walk_speed_mps * (1.0 + 0.05 * np.sin(2.0 * phase))
    head = np.deg2rad(psi)
    hip = np.zeros((m, 3))
    hip[:, 0] = np.cumsum(speed * np.cos(head)) / fs_hz
    hip[:, 1] = np.cumsum(speed * np.sin(head)) / fs_hz
    sway = env * 0.015 * np.sin(phase)
    hip[:, 0] += -sway * np.sin(head)
    hip[:, 1] += sway * np.cos(head)
    hip[:, 2] = hip_position(Posture.STANDING)[2] + env * 0.02 * np.cos(2.0 * phase)
    pos = _sensor_pos(rot, hip, SENSOR_LEVER_M)
    # heel strikes: sensor leg shortly after peak flexion, the other leg half a stride later
    extra = np.zeros((m, 3))
    imp = np.zeros(m)
    wrapped = np.mod(phase - (np.pi / 2 + 0.4), 2.0 * np.pi)
    own = np.flatnonzero(np.diff(wrapped) < 0) + 1
    wrapped_o = np.mod(phase - (np.pi / 2 + 0.4 + np.pi), 2.0 * np.pi)
    oth = np.flatnonzero(np.diff(wrapped_o) < 0) + 1
    imp[own] = env[own] * person.heel_strike_g * rng.uniform(0.7, 1.3, own.size)
    imp[oth] += env[oth] * 0.3 * person.heel_strike_g * rng.uniform(0.7, 1.3, oth.size)
    tk = np.arange(int(0.15 * fs_hz)) / fs_hz
    kernel = np.exp(-tk / 0.018) * np.sin(2.0 * np.pi * 16.0 * tk) * GRAVITY_MPS2
    jolt = signal.fftconvolve(imp, kernel)[:m]
    extra[:, 2] = jolt
    extra[:, 0] = -0.3 * jolt * np.cos(head)
    extra[:, 1] = -0.3 * jolt * np.sin(head)
    return Chunk(
        kind="walking",
        rot=rot,
        pos=pos,
        extra_acc=extra,
        info={"posture": "walking", "stride_hz": float(stride), "steps": int(own.size + oth.size)},
    )


def transition(
    rng: np.random.Generator,
    *,
    fs_hz: float,
    rot_from: FloatArray,
    rot_to: FloatArray,
    pos_from: FloatArray,
    pos_to: FloatArray,
    duration_s: float,
) -> Chunk:
    """Smooth move between two poses: slerp and position on a minimum-jerk time law, plus a wobble."""
    m = max(round(duration_s * fs_hz), 2)
    u = np.arange(m) / (m - 1)
    s = min_jerk(u)
    rot = qslerp(rot_from, rot_to, s)
    hump = np.sin(np.pi * u) ** 2
    wobble_deg = rng.uniform(2.0, 8.0) * min(1.0, duration_s / 2.0)
    rv = unit(rng.normal(0.0, 1.0, 3)) * np.deg2rad(wobble_deg)
    rot = qmul(rot, qfrom_rotvec(hump[:, None] * rv))
    pos = pos_from + (pos_to - pos_from) * s[:, None]
    return Chunk(kind="transition", rot=rot, pos=pos)
