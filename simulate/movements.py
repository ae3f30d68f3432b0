"""Movements that are not reps: fidgets, repositioning and leg shakes, between reps and between sets.

A :class:`Movement` is drawn once (kind, timing, size, axis) and rendered as a rotation vector of the
thigh on the fine grid; the activity generators add it on top of the voluntary motion, so the sensor sees
it while the rep truth (read from the rep angle alone) does not move. Every movement is listed in the
truth segment it happens in, so an analysis that counts one as a rep can be told which movement it was.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from simulate.kinematics import FloatArray, min_jerk, unit

#: Kinds of movement: a shift that returns, a shift that stays, an oscillation of the leg.
KINDS = ("fidget", "reposition", "shake")
#: Amplitude of leg shakes (deg): 2 deg at 5 Hz moves the sensor with ~0.9 g of linear acceleration.
SHAKE_DEG = (0.4, 2.0)


@dataclass(frozen=True, slots=True, kw_only=True)
class Movement:
    """One non-rep movement of the thigh.

    ``start_s`` and ``duration_s`` in s on the grid of the activity it belongs to; ``amplitude_deg`` the
    largest rotation (deg); ``axis`` unit rotation axis in the thigh frame; ``rise_s`` the time to reach
    the shifted pose (fidget, reposition); ``freq_hz`` the oscillation frequency (shake).
    A fidget rises, stays and returns within ``duration_s``; a reposition rises and stays to the end of
    the activity; a shake oscillates under a smooth envelope.
    """

    kind: str
    start_s: float
    duration_s: float
    amplitude_deg: float
    axis: tuple[float, float, float]
    rise_s: float = 0.5
    freq_hz: float = 0.0

    def as_dict(self, offset_s: float = 0.0, time_scale: float = 1.0) -> dict[str, Any]:
        """The truth entry: kind, start/end on the recording's clock (s), amplitude (deg)."""
        return {
            "kind": self.kind,
            "start": round((offset_s + self.start_s) * time_scale, 4),
            "end": round((offset_s + self.start_s + self.duration_s) * time_scale, 4),
            "amplitude_deg": round(self.amplitude_deg, 2),
        }


def draw_movement(
    rng: np.random.Generator,
    kind: str,
    *,
    start_s: float,
    amplitude_deg: tuple[float, float],
    weights: FloatArray | None = None,
) -> Movement:
    """A movement of ``kind`` starting at ``start_s``, its size drawn from ``amplitude_deg`` (deg, range).

    ``weights`` scales the random axis per thigh axis (x, y, z): e.g. standing shifts turn the thigh less
    about its medial axis. Shakes oscillate at 3-6 Hz for 0.6-2.5 s by at most :data:`SHAKE_DEG` (bouncing
    a leg); fidgets rise in
    0.3-1 s, stay 0.2-2 s and return; repositioning moves in 0.5-1.5 s.
    """
    if kind not in KINDS:
        raise ValueError(f"unknown movement kind {kind!r}, expected one of {KINDS}")
    w = np.ones(3) if weights is None else weights
    axis = unit(rng.normal(0.0, 1.0, 3) * w)
    amp = float(rng.uniform(*amplitude_deg))
    if kind == "shake":
        # a fast oscillation: a few degrees of thigh already shake the sensor by ~1 g (lever 0.23 m)
        amp = min(amp, float(rng.uniform(*SHAKE_DEG)))
        return Movement(
            kind=kind,
            start_s=start_s,
            duration_s=float(rng.uniform(0.6, 2.5)),
            amplitude_deg=amp,
            axis=(float(axis[0]), float(axis[1]), float(axis[2])),
            freq_hz=float(rng.uniform(3.0, 6.0)),
        )
    rise = float(rng.uniform(0.3, 1.0) if kind == "fidget" else rng.uniform(0.5, 1.5))
    duration = rise if kind == "reposition" else 2.0 * rise + float(rng.uniform(0.2, 2.0))
    return Movement(
        kind=kind,
        start_s=start_s,
        duration_s=duration,
        amplitude_deg=amp,
        axis=(float(axis[0]), float(axis[1]), float(axis[2])),
        rise_s=rise,
    )


def movement_angle(t_s: FloatArray, mv: Movement) -> FloatArray:
    """The movement's rotation angle (deg) at times ``t_s`` (s, same grid as ``mv.start_s``)."""
    u = t_s - mv.start_s
    if mv.kind == "shake":
        inside = (u >= 0.0) & (u <= mv.duration_s)
        env = np.where(inside, np.sin(np.pi * np.clip(u / mv.duration_s, 0.0, 1.0)) ** 2, 0.0)
        return np.asarray(mv.amplitude_deg * env * np.sin(2.0 * np.pi * mv.freq_hz * u), dtype=float)
    up = min_jerk(u / mv.rise_s)
    if mv.kind == "reposition":
        return np.asarray(mv.amplitude_deg * up, dtype=float)
    down = min_jerk((u - (mv.duration_s - mv.rise_s)) / mv.rise_s)
    return np.asarray(mv.amplitude_deg * (up - down), dtype=float)


def movements_rotvec(m: int, fs_hz: float, movements: tuple[Movement, ...] | list[Movement]) -> FloatArray:
    """All ``movements`` as one rotation vector (rad, thigh frame) per sample of an (m,) grid at ``fs_hz``."""
    out = np.zeros((m, 3))
    t = np.arange(m) / fs_hz
    for mv in movements:
        out += np.deg2rad(movement_angle(t, mv))[:, None] * np.asarray(mv.axis)
    return out
