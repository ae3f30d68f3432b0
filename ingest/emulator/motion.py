"""Motion sources: what an emulated sensor measures at any instant of its own clock.

A :class:`MotionSource` maps seconds since the sensor powered on to specific force (g) and angular rate
(deg/s) in the sensor frame. Emulated sensors sample it on their own sample grid, so the same source can
feed a 52 Hz Verity Sense, a 200 Hz H10 and a 50 Hz WitMotion.

- :class:`ArrayMotionSource` replays arrays (a simulated session from :mod:`simulate`, a recording file),
  linearly interpolated, looping by default.
- :class:`LegRaiseMotion` is the built-in default: slow straight-leg raises with rests between them.
- :class:`StillMotion` is a sensor lying still (for idle detection).
- :func:`simulated_motion` replays a short session of the simulator (:mod:`simulate`).
"""

from __future__ import annotations

from typing import Protocol

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]

__all__ = ["ArrayMotionSource", "LegRaiseMotion", "MotionSource", "StillMotion", "simulated_motion"]


class MotionSource(Protocol):
    """Anything that yields IMU values for given times."""

    def sample(self, time_s: FloatArray) -> tuple[FloatArray, FloatArray]:
        """Values at ``time_s`` (shape (n,), s since sensor power-on, non-decreasing).

        Returns:
            ``(accel_g, gyro_dps)``, each shape (n, 3), float64, sensor frame.
        """
        ...


class ArrayMotionSource:
    """Replays sampled arrays, linearly interpolated at the requested times.

    Args:
        time_s: shape (n,), strictly increasing sample times (any origin; the first becomes t = 0).
        accel_g: shape (n, 3), g.
        gyro_dps: shape (n, 3), deg/s, or ``None`` (zeros are reported).
        loop: replay from the start after the end (the period is the span plus one median sample
            interval, so the seam is spaced like the rest); if False the last sample is held.

    Raises:
        ValueError: on inconsistent shapes, fewer than 2 samples or non-increasing times.
    """

    def __init__(
        self,
        time_s: npt.ArrayLike,
        accel_g: npt.ArrayLike,
        gyro_dps: npt.ArrayLike | None = None,
        *,
        loop: bool = True,
    ) -> None:
        t = np.asarray(time_s, dtype=np.float64)
        acc = np.asarray(accel_g, dtype=np.float64)
        n = t.shape[0] if t.ndim == 1 else -1
        if n < 2:
            raise ValueError(f"time_s must be 1-D with at least 2 samples, got shape {t.shape}")
        if acc.shape != (n, 3):
            raise ValueError(f"accel_g must have shape ({n}, 3), got {acc.shape}")
        gyr = np.zeros((n, 3)) if gyro_dps is None else np.asarray(gyro_dps, dtype=np.float64)
        if gyr.shape != (n, 3):
            raise ValueError(f"gyro_dps must have shape ({n}, 3), got {gyr.shape}")
        dt = np.diff(t)
        if not np.all(dt > 0):
            raise ValueError("time_s must be strictly increasing")
        self._t = t - t[0]
        self._acc = acc
        self._gyr = gyr
        self.loop = loop
        self.period_s = float(self._t[-1] + np.median(dt))

    def sample(self, time_s: FloatArray) -> tuple[FloatArray, FloatArray]:
        t = np.asarray(time_s, dtype=np.float64)
        if self.loop:
            t = np.mod(t, self.period_s)
            # Between the last sample and the period end, interpolate towards the first sample.
            xp = np.append(self._t, self.period_s)
            acc = np.vstack([self._acc, self._acc[:1]])
            gyr = np.vstack([self._gyr, self._gyr[:1]])
        else:
            xp, acc, gyr = self._t, self._acc, self._gyr
        a = np.column_stack([np.interp(t, xp, acc[:, k]) for k in range(3)])
        g = np.column_stack([np.interp(t, xp, gyr[:, k]) for k in range(3)])
        return a, g


class LegRaiseMotion:
    """Slow straight-leg raises: the thigh pitches up by ``amplitude_deg`` and back, then rests.

    Each cycle lasts ``raise_s + hold_s + lower_s + rest_s``; raising and lowering follow a raised cosine,
    so the angular rate is smooth. The sensor's x axis is the rotation axis; at rest gravity reads
    (0, 0, 1) g. Deterministic: no noise, so repeated runs give identical bytes.
    """

    def __init__(
        self,
        *,
        amplitude_deg: float = 40.0,
        raise_s: float = 1.5,
        hold_s: float = 0.5,
        lower_s: float = 1.5,
        rest_s: float = 2.5,
    ) -> None:
        if min(raise_s, lower_s) <= 0 or min(hold_s, rest_s) < 0:
            raise ValueError("phase durations must be positive (hold/rest may be 0)")
        self.amplitude_deg = amplitude_deg
        self.raise_s, self.hold_s, self.lower_s, self.rest_s = raise_s, hold_s, lower_s, rest_s
        self.period_s = raise_s + hold_s + lower_s + rest_s

    def angle_deg(self, time_s: FloatArray) -> tuple[FloatArray, FloatArray]:
        """Thigh angle (deg) and its rate (deg/s) at ``time_s``."""
        u = np.mod(np.asarray(time_s, dtype=np.float64), self.period_s)
        a = self.amplitude_deg
        t_hold = self.raise_s
        t_lower = t_hold + self.hold_s
        t_rest = t_lower + self.lower_s
        up = u < t_hold
        hold = (u >= t_hold) & (u < t_lower)
        down = (u >= t_lower) & (u < t_rest)
        ang = np.zeros_like(u)
        rate = np.zeros_like(u)
        p_up = np.pi * u / self.raise_s
        ang[up] = a * 0.5 * (1 - np.cos(p_up[up]))
        rate[up] = a * 0.5 * np.pi / self.raise_s * np.sin(p_up[up])
        ang[hold] = a
        p_dn = np.pi * (u - t_lower) / self.lower_s
        ang[down] = a * 0.5 * (1 + np.cos(p_dn[down]))
        rate[down] = -a * 0.5 * np.pi / self.lower_s * np.sin(p_dn[down])
        return ang, rate

    def sample(self, time_s: FloatArray) -> tuple[FloatArray, FloatArray]:
        ang, rate = self.angle_deg(time_s)
        th = np.radians(ang)
        acc = np.column_stack([np.zeros_like(th), np.sin(th), np.cos(th)])
        gyr = np.column_stack([rate, np.zeros_like(th), np.zeros_like(th)])
        return acc, gyr


class StillMotion:
    """A sensor lying still: constant gravity ``accel_g`` and zero angular rate."""

    def __init__(self, accel_g: tuple[float, float, float] = (0.0, 0.0, 1.0)) -> None:
        self._acc = np.asarray(accel_g, dtype=np.float64)

    def sample(self, time_s: FloatArray) -> tuple[FloatArray, FloatArray]:
        n = np.asarray(time_s).shape[0]
        return np.tile(self._acc, (n, 1)), np.zeros((n, 3))


def simulated_motion(seed: int = 0, *, exercise: str | None = None, n_reps: int = 8) -> ArrayMotionSource:
    """A looping replay of a short simulated training session (:func:`simulate.simulate_session`).

    Args:
        seed: simulator seed (same seed, same motion).
        exercise: one of :class:`simulate.Exercise` values, or None for the simulator's choice.
        n_reps: repetitions in the set.
    """
    from simulate import SessionSpec, simulate_session

    session = simulate_session(seed, spec=SessionSpec.quick(exercise, n_reps=n_reps))
    return ArrayMotionSource(session.time_s, session.accel_g, session.gyro_dps)
