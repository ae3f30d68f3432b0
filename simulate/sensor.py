"""Sensor model: a strap-mounted IMU on the lateral thigh turns body motion into recorded samples.

Pipeline (all vectorised on the fine simulation grid, then sampled):

1. mount: lateral thigh, strap rotation 0/90/180/270 deg about the skin normal, tilt up to ``tilt_deg``;
2. ideal readings: specific force ``R_ws^T (a + g)`` in g and body angular rate in deg/s;
3. left leg: mirror of the right-leg model (acc ``(x, -y, z)``, gyro ``(-x, y, -z)``);
4. anti-alias low-pass (2nd-order Butterworth, causal, cut-off 0.4 x output rate);
5. sampling at the sensor's own clock (nominal rate x (1 + drift)); timestamps are the nominal ones;
6. scale error, axis misalignment, bias (gyro bias drifts slowly), white noise, range clipping,
   quantisation;
7. lost frames: runs of samples removed (the timestamps keep their gaps); with ``frame_samples`` set,
   whole BLE frames of that many samples go at once.

Sensor frame for the right leg at strap rotation 0 and no tilt: ``z`` out of the skin (lateral),
``x`` up along the thigh towards the hip, ``y = z x x`` (posterior).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace

import numpy as np
import numpy.typing as npt
from scipy import signal

from simulate.kinematics import (
    GRAVITY_MPS2,
    FloatArray,
    body_rate_q,
    butter_sos,
    qapply,
    qconj,
    qfrom_rotvec,
    qmul,
    second_derivative,
    smooth_noise,
)

#: Right thigh -> sensor at strap rotation 0 (columns: sensor axes in the thigh frame).
BASE_MOUNT_MATRIX = np.array([[0.0, -1.0, 0.0], [0.0, 0.0, -1.0], [1.0, 0.0, 0.0]])
#: The same as a quaternion (xyzw): 120 deg about (1, -1, 1)/sqrt(3).
BASE_MOUNT = np.array([0.5, -0.5, 0.5, 0.5])

ACC_LSB_CHOICES_G = (1.0 / 16384.0, 1.0 / 4096.0, 1.0 / 2048.0, 1.0 / 256.0, 1.0 / 64.0)
GYRO_LSB_CHOICES_DPS = (0.00763, 0.0153, 0.0305, 0.061, 0.07)


@dataclass(frozen=True, slots=True, kw_only=True)
class SensorSpec:
    """Sensor imperfections; ``None`` fields are drawn at random from realistic ranges.

    ``face_in``: the device sits in its strap pocket face towards the skin (sensor z into the thigh; two
    of the three real MEx subjects look like this); ``None`` draws it with probability 1/4.
    ``around_thigh_deg``: where the strap puts the sensor around the thigh, 0 = lateral (hipsync's
    placement), +90 = front of the thigh (where the real MEx clam data suggest their sensor sat).
    Units: ``acc_noise_g``/``gyro_noise_dps`` per-sample standard deviation at the output rate;
    biases in g and deg/s; ``scale_error`` as a fraction; ``clock_drift_ppm`` of the sensor clock vs true
    time; ``drop_runs_per_min`` expected number of lost-frame runs per minute, each
    ``drop_run_samples`` long (range). ``frame_samples``: samples per BLE notification frame; when > 0
    every loss removes ``drop_run_frames`` (range) consecutive whole frames, aligned on frame boundaries,
    instead of a run of samples anywhere. ``accel_only`` removes the gyroscope.
    ``strap_rotation_deg`` takes any angle; ``None`` draws one of 0/90/180/270.
    """

    strap_rotation_deg: float | None = None
    tilt_deg: float = 15.0
    face_in: bool | None = None
    around_thigh_deg: float = 0.0
    acc_noise_g: float | None = None
    gyro_noise_dps: float | None = None
    acc_bias_g: float | None = None
    gyro_bias_dps: float | None = None
    scale_error: float | None = None
    misalignment_deg: float = 1.0
    acc_lsb_g: float | None = None
    gyro_lsb_dps: float | None = None
    acc_range_g: float = 16.0
    gyro_range_dps: float = 2000.0
    clock_drift_ppm: float | None = None
    drop_runs_per_min: float | None = None
    drop_run_samples: tuple[int, int] = (3, 60)
    frame_samples: int = 0
    drop_run_frames: tuple[int, int] = (1, 3)
    anti_alias: bool = True
    accel_only: bool = False

    @classmethod
    def ideal(
        cls, *, strap_rotation_deg: float = 0, tilt_deg: float = 0.0, anti_alias: bool = False
    ) -> SensorSpec:
        """A perfect sensor (no noise, bias, scale, quantisation, drift or loss): for physics tests."""
        return cls(
            strap_rotation_deg=strap_rotation_deg,
            tilt_deg=tilt_deg,
            face_in=False,
            acc_noise_g=0.0,
            gyro_noise_dps=0.0,
            acc_bias_g=0.0,
            gyro_bias_dps=0.0,
            scale_error=0.0,
            misalignment_deg=0.0,
            acc_lsb_g=0.0,
            gyro_lsb_dps=0.0,
            acc_range_g=1e9,
            gyro_range_dps=1e9,
            clock_drift_ppm=0.0,
            drop_runs_per_min=0.0,
            anti_alias=anti_alias,
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class SensorDraw:
    """The concrete sensor parameters one session used (what ``SensorSpec``'s ``None`` fields became)."""

    strap_rotation_deg: float
    tilt_rotvec_deg: tuple[float, float, float]
    face_in: bool
    around_thigh_deg: float
    acc_noise_g: float
    gyro_noise_dps: float
    acc_bias_g: tuple[float, float, float]
    gyro_bias_dps: tuple[float, float, float]
    acc_scale: tuple[float, float, float]
    gyro_scale: tuple[float, float, float]
    misalignment_deg: tuple[float, ...]
    acc_lsb_g: float
    gyro_lsb_dps: float
    clock_drift_ppm: float
    drop_runs_per_min: float
    dropped_samples: int
    accel_only: bool
    #: samples per BLE frame when losses take whole frames; 0: runs of samples anywhere
    frame_samples: int = 0

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


@dataclass(frozen=True, slots=True, kw_only=True)
class SensorOutput:
    """Recorded samples: ``time_s`` (n,) on the sensor's clock, ``accel_g``/``gyro_dps`` (n, 3) sensor
    frame, ``sample_true_s`` (n,) true time of each sample, ``orientation_xyzw`` (n, 4) world-from-sensor
    quaternion (scalar last) at each sample, ``time_scale`` = sensor seconds per true second."""

    time_s: FloatArray
    accel_g: FloatArray
    gyro_dps: FloatArray | None
    sample_true_s: FloatArray
    orientation_xyzw: FloatArray
    time_scale: float
    draw: SensorDraw


def mount_rotation(
    strap_rotation_deg: float,
    tilt_rotvec_deg: FloatArray,
    face_in: bool = False,
    around_thigh_deg: float = 0.0,
) -> FloatArray:
    """Thigh -> sensor quaternion (right leg): placement around the thigh, base mount, face in/out,
    strap rotation about the skin normal, tilt."""
    base = qmul(qfrom_rotvec(np.deg2rad(around_thigh_deg) * np.array([0.0, 0.0, 1.0])), BASE_MOUNT)
    if face_in:
        base = qmul(base, np.array([1.0, 0.0, 0.0, 0.0]))
    strap = qfrom_rotvec(np.deg2rad(strap_rotation_deg) * np.array([0.0, 0.0, 1.0]))
    return qmul(qmul(base, strap), qfrom_rotvec(np.deg2rad(np.asarray(tilt_rotvec_deg))))


def draw_sensor(spec: SensorSpec, rng: np.random.Generator) -> SensorDraw:
    """Draw the concrete parameters of one sensor from ``spec`` (``None`` fields at random)."""

    def pick(v: float | None, default: float) -> float:
        return float(default) if v is None else float(v)

    def vec(a: FloatArray) -> tuple[float, float, float]:
        return (float(a[0]), float(a[1]), float(a[2]))

    strap = (
        spec.strap_rotation_deg if spec.strap_rotation_deg is not None else int(rng.choice([0, 90, 180, 270]))
    )
    if float(strap).is_integer():
        strap = int(strap)  # 90, not 90.0, in the truth
    tilt_dir = rng.normal(0.0, 1.0, 3)
    tilt_dir[2] *= 0.5
    tilt = (
        tilt_dir / np.linalg.norm(tilt_dir) * rng.uniform(0.0, spec.tilt_deg)
        if spec.tilt_deg > 0
        else np.zeros(3)
    )
    acc_bias = pick(spec.acc_bias_g, rng.uniform(0.005, 0.03))
    gyro_bias = pick(spec.gyro_bias_dps, rng.uniform(0.2, 2.0))
    scale = pick(spec.scale_error, rng.uniform(0.002, 0.02))
    misalign = rng.normal(0.0, 1.0, 6) * spec.misalignment_deg
    face_in = spec.face_in if spec.face_in is not None else bool(rng.random() < 0.25)
    return SensorDraw(
        strap_rotation_deg=strap,
        tilt_rotvec_deg=vec(tilt),
        face_in=face_in,
        around_thigh_deg=float(spec.around_thigh_deg),
        # quiet-sensor levels of the real recordings: ~0.0015-0.007 g and ~0.4 dps per axis
        acc_noise_g=pick(spec.acc_noise_g, rng.uniform(0.0015, 0.006)),
        gyro_noise_dps=pick(spec.gyro_noise_dps, rng.uniform(0.1, 0.5)),
        acc_bias_g=vec(rng.uniform(-1, 1, 3) * acc_bias),
        gyro_bias_dps=vec(rng.uniform(-1, 1, 3) * gyro_bias),
        acc_scale=vec(1.0 + rng.uniform(-1, 1, 3) * scale),
        gyro_scale=vec(1.0 + rng.uniform(-1, 1, 3) * scale),
        misalignment_deg=tuple(float(x) for x in misalign),
        acc_lsb_g=pick(spec.acc_lsb_g, float(rng.choice(ACC_LSB_CHOICES_G[:4]))),
        gyro_lsb_dps=pick(spec.gyro_lsb_dps, float(rng.choice(GYRO_LSB_CHOICES_DPS))),
        clock_drift_ppm=pick(spec.clock_drift_ppm, float(np.clip(rng.normal(0.0, 400.0), -3000, 3000))),
        drop_runs_per_min=pick(spec.drop_runs_per_min, rng.uniform(0.0, 1.5)),
        dropped_samples=0,
        accel_only=spec.accel_only,
        frame_samples=spec.frame_samples,
    )


def _axis_errors(
    x: FloatArray, scale: tuple[float, float, float], misalign_deg: tuple[float, ...]
) -> FloatArray:
    # small-angle cross-axis coupling: each axis picks up a fraction of the other two
    misalign_rad = np.deg2rad(np.asarray(misalign_deg))
    m = np.diag(np.asarray(scale))
    m[0, 1], m[0, 2] = misalign_rad[0], misalign_rad[1]
    m[1, 0], m[1, 2] = -misalign_rad[0], misalign_rad[2]
    m[2, 0], m[2, 1] = -misalign_rad[1], -misalign_rad[2]
    return x @ m.T


def _quantise(x: FloatArray, lsb: float) -> FloatArray:
    return np.round(x / lsb) * lsb if lsb > 0 else x


def _kept_samples(
    rng: np.random.Generator, n: int, fs_hz: float, runs_per_min: float, spec: SensorSpec
) -> npt.NDArray[np.bool_]:
    """Which of ``n`` samples survive lost frames: a Poisson number of losses (``runs_per_min``), each
    a run of samples anywhere or, with ``spec.frame_samples``, whole consecutive frames.

    Never the first or last samples: the recording's extent stays the true extent.
    """
    keep = np.ones(n, dtype=bool)
    n_runs = int(rng.poisson(runs_per_min * n / fs_hz / 60.0)) if runs_per_min > 0 else 0
    if spec.frame_samples > 0:
        fs_n = spec.frame_samples
        n_frames = n // fs_n
        lo, hi = spec.drop_run_frames
        for _ in range(n_runs if n_frames > hi + 2 else 0):
            f0 = int(rng.integers(1, n_frames - hi - 1))
            keep[f0 * fs_n : (f0 + int(rng.integers(lo, hi + 1))) * fs_n] = False
        return keep
    lo, hi = spec.drop_run_samples
    for _ in range(n_runs):
        start = int(rng.integers(1, max(2, n - hi - 1)))
        keep[start : start + int(rng.integers(lo, hi + 1))] = False
    return keep


def synthesize(
    *,
    fine_fs_hz: float,
    thigh: FloatArray,
    sensor_pos_m: FloatArray,
    extra_acc_mps2: FloatArray,
    side: str,
    fs_hz: float,
    spec: SensorSpec,
    rng: np.random.Generator,
) -> SensorOutput:
    """Turn fine-grid body motion into recorded sensor samples.

    ``thigh``: world orientation quaternions (m, 4) of the right thigh at ``fine_fs_hz`` (true time 0, ...);
    ``sensor_pos_m`` (m, 3) world position of the sensor; ``extra_acc_mps2`` (m, 3) world acceleration
    not captured by the position (impacts). ``side``: ``left`` mirrors the result. ``fs_hz``: output rate.
    """
    d = draw_sensor(spec, rng)
    mount = mount_rotation(d.strap_rotation_deg, np.asarray(d.tilt_rotvec_deg), d.face_in, d.around_thigh_deg)
    ws = qmul(thigh, mount)
    acc_world = second_derivative(sensor_pos_m, fine_fs_hz) + extra_acc_mps2
    acc_world[:, 2] += GRAVITY_MPS2
    f_g = qapply(qconj(ws), acc_world) / GRAVITY_MPS2
    w_dps = np.rad2deg(body_rate_q(ws, fine_fs_hz))
    quat = ws.copy()
    if side == "left":
        f_g[:, 1] *= -1.0
        w_dps[:, 0] *= -1.0
        w_dps[:, 2] *= -1.0
        quat[:, 0] *= -1.0
        quat[:, 2] *= -1.0
    if spec.anti_alias:
        sos = butter_sos(2, min(0.4 * fs_hz, 0.45 * fine_fs_hz) / (fine_fs_hz / 2.0))
        zi = signal.sosfilt_zi(sos)
        both = np.concatenate([f_g, w_dps], axis=1)
        filt = np.empty_like(both)
        for c in range(6):
            filt[:, c], _ = signal.sosfilt(sos, both[:, c], zi=zi * both[0, c])
        f_g, w_dps = filt[:, :3], filt[:, 3:]

    m = len(thigh)
    duration_true_s = (m - 1) / fine_fs_hz
    time_scale = 1.0 + d.clock_drift_ppm * 1e-6
    rate_true = fs_hz * time_scale
    n = int(np.floor(duration_true_s * rate_true)) + 1
    k = np.arange(n)
    t_true = k / rate_true
    fine_t = np.arange(m) / fine_fs_hz
    acc = np.column_stack([np.interp(t_true, fine_t, f_g[:, c]) for c in range(3)])
    gyr = np.column_stack([np.interp(t_true, fine_t, w_dps[:, c]) for c in range(3)])
    near = np.minimum(np.rint(t_true * fine_fs_hz).astype(np.int64), m - 1)
    ori = quat[near]

    acc = _axis_errors(acc, d.acc_scale, d.misalignment_deg[:3])
    gyr = _axis_errors(gyr, d.gyro_scale, d.misalignment_deg[3:])
    acc = acc + np.asarray(d.acc_bias_g) + rng.normal(0.0, 1.0, (n, 3)) * d.acc_noise_g
    gyro_bias = np.asarray(d.gyro_bias_dps)
    if d.gyro_noise_dps > 0:
        # the bias wanders slowly (temperature): about 10 % of its size over minutes
        wander = smooth_noise(rng, n, fs_hz, 0.002 if n > 10 * fs_hz else 0.1, 1.0, dims=3)
        gyr = gyr + wander * (0.1 * np.abs(gyro_bias) + 0.02)
    gyr = gyr + gyro_bias + rng.normal(0.0, 1.0, (n, 3)) * d.gyro_noise_dps
    acc = _quantise(np.clip(acc, -spec.acc_range_g, spec.acc_range_g), d.acc_lsb_g)
    gyr = _quantise(np.clip(gyr, -spec.gyro_range_dps, spec.gyro_range_dps), d.gyro_lsb_dps)

    keep = _kept_samples(rng, n, fs_hz, d.drop_runs_per_min, spec)
    time_s = (k / fs_hz)[keep]
    return SensorOutput(
        time_s=time_s,
        accel_g=acc[keep],
        gyro_dps=None if spec.accel_only else gyr[keep],
        sample_true_s=t_true[keep],
        orientation_xyzw=ori[keep],
        time_scale=time_scale,
        draw=replace(d, dropped_samples=int(n - keep.sum())),
    )
