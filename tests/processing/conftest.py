"""Synthetic thigh recordings with analytic ground truth, shared by the processing tests.

Independent of ``simulate/`` on purpose: the analysis is checked against a second, much simpler model.
A rigid thigh turns about a fixed world axis with minimum-jerk reps; the sensor sits on it with an
arbitrary mounting rotation; the accelerometer sees gravity only (plus noise and optional impacts), the
gyroscope the body rate in the sensor frame.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from hipsync.records import Recording

# Minimum-jerk speed 30u^2(1-u)^2 crosses 5 % of its peak (1.875) at u = 0.0593 and 0.9407.
ONSET_U = 0.0593


def min_jerk(u: np.ndarray) -> np.ndarray:
    u = np.clip(u, 0.0, 1.0)
    return u**3 * (10 - 15 * u + 6 * u**2)


@dataclass
class TruthRep:
    start_s: float
    top_start_s: float
    top_end_s: float
    end_s: float
    rom_deg: float


@dataclass
class Synthetic:
    recording: Recording
    reps: list[TruthRep]
    mount: Rotation


def rep_angle(
    t: np.ndarray,
    *,
    t0: float,
    n_reps: int,
    rom_deg: float | list[float],
    con_s: float,
    hold_s: float,
    ecc_s: float,
    pause_s: float,
) -> tuple[np.ndarray, list[TruthRep]]:
    """Angle (deg) of ``n_reps`` minimum-jerk reps from ``t0`` and their 5%-convention truth."""
    roms = [rom_deg] * n_reps if np.isscalar(rom_deg) else list(rom_deg)  # type: ignore[list-item]
    ang = np.zeros_like(t)
    reps = []
    c0 = t0
    for r in roms:
        c1, h1, e1 = c0 + con_s, c0 + con_s + hold_s, c0 + con_s + hold_s + ecc_s
        ang += r * (min_jerk((t - c0) / con_s) - min_jerk((t - h1) / ecc_s))
        reps.append(
            TruthRep(
                start_s=c0 + ONSET_U * con_s,
                top_start_s=c1 - ONSET_U * con_s,
                top_end_s=h1 + ONSET_U * ecc_s,
                end_s=e1 - ONSET_U * ecc_s,
                rom_deg=float(r),
            )
        )
        c0 = e1 + pause_s
    return ang, reps


def synth_recording(
    t: np.ndarray,
    thigh: Rotation,
    mount: Rotation,
    rng: np.random.Generator,
    *,
    gyro: bool = True,
    impacts_g: np.ndarray | None = None,
    noise_g: float = 0.004,
    noise_dps: float = 0.3,
    mirror: bool = False,
) -> Recording:
    """Sensor signals for world-from-thigh orientations ``thigh`` (one per sample) and a fixed ``mount``."""
    fs = 1.0 / float(np.median(np.diff(t)))
    ws = thigh * mount  # world-from-sensor
    up = np.array([0.0, 0.0, 1.0])
    f_world = np.tile(up, (t.size, 1))
    if impacts_g is not None:
        f_world = f_world + impacts_g[:, None] * up
    acc = ws.inv().apply(f_world) + rng.normal(0, noise_g, (t.size, 3))
    gyr = None
    if gyro:
        # body rate from successive orientations (sensor frame), deg/s
        d = (ws[:-1].inv() * ws[1:]).as_rotvec() * fs
        d = np.vstack([d, d[-1:]])
        gyr = np.degrees(d) + rng.normal(0, noise_dps, (t.size, 3))
    if mirror:
        # the other leg: a reflection of the sensor frame (y flipped); angular rate is a pseudo-vector
        m = np.diag([1.0, -1.0, 1.0])
        acc = acc @ m
        gyr = None if gyr is None else -(gyr @ m)
    return Recording(time_s=t.copy(), accel_g=acc, gyro_dps=gyr, fs_hz=fs)


def exercise_set(
    rng: np.random.Generator,
    *,
    rest_up: np.ndarray,
    axis_world: np.ndarray,
    n_reps: int = 8,
    rom_deg: float = 35.0,
    tempo: tuple[float, float, float, float] = (1.5, 1.0, 2.0, 1.0),
    lead_s: float = 6.0,
    tail_s: float = 6.0,
    fs_hz: float = 50.0,
    gyro: bool = True,
    mount: Rotation | None = None,
    mirror: bool = False,
) -> Synthetic:
    """One set on its own (a file that is just one set); ``rest_up``: knee-to-hip axis in the world."""
    con, hold, ecc, pause = tempo
    dur = lead_s + n_reps * (con + hold + ecc + pause) + tail_s
    t = np.arange(0.0, dur, 1.0 / fs_hz)
    ang, reps = rep_angle(
        t, t0=lead_s, n_reps=n_reps, rom_deg=rom_deg, con_s=con, hold_s=hold, ecc_s=ecc, pause_s=pause
    )
    base = Rotation.align_vectors([rest_up], [[0.0, 0.0, 1.0]])[0]
    axis = np.asarray(axis_world, dtype=float) / np.linalg.norm(axis_world)
    thigh = Rotation.from_rotvec(np.radians(ang)[:, None] * axis) * base
    mount = mount if mount is not None else Rotation.random(random_state=int(rng.integers(1 << 31)))
    rec = synth_recording(t, thigh, mount, rng, gyro=gyro, mirror=mirror)
    return Synthetic(recording=rec, reps=reps, mount=mount)


@pytest.fixture
def synth_rng() -> np.random.Generator:
    return np.random.default_rng(4242)


@pytest.fixture
def make_set():  # type: ignore[no-untyped-def]
    """The :func:`exercise_set` builder (fixtures are how test modules reach conftest helpers)."""
    return exercise_set


@pytest.fixture
def make_recording():  # type: ignore[no-untyped-def]
    """The :func:`synth_recording` builder."""
    return synth_recording


@pytest.fixture
def make_reps():  # type: ignore[no-untyped-def]
    """The :func:`rep_angle` builder."""
    return rep_angle
