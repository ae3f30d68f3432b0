"""Is a recording something the analysis can work on? Checked before it is analysed or stored.

A file can be well-formed and still not be a recording: one or two rows, a time column that never
advances, values in the wrong units by orders of magnitude (raw counts, milliseconds read as seconds),
or values no body-worn sensor measures. The analysis would then fail deep inside (``LinAlgError``,
"Eigenvalues did not converge") or allocate memory for the span (a resampling grid over years), so the
import services and ``hipsync analyze`` call :func:`check_recording` first: it raises
:class:`RecordingRejectedError` with one line saying what is wrong, and the import quarantines the file.

The limits are generous: each is far beyond any supported sensor's range (±16 g, ±2000 deg/s) and any
session (an hour), so only nonsense is refused.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from hipsync.records import Recording
from ingest.errors import SensorError

__all__ = [
    "MAX_ABS_ACC_G",
    "MAX_ABS_GYRO_DPS",
    "MAX_ABS_TIME_S",
    "MAX_DURATION_S",
    "MIN_SAMPLES",
    "RecordingRejectedError",
    "check_recording",
]

#: Fewest samples of a recording (at 25 Hz, under half a second: less holds no rep).
MIN_SAMPLES = 10
#: Longest span of a recording (s): a day. Longer means a wrong time unit or two files joined.
MAX_DURATION_S = 24 * 3600.0
#: Largest |time| (s) on a recording's own axis: Unix times (~1.8e9 s) pass, nanoseconds (~1.8e18) not.
MAX_ABS_TIME_S = 1e11
#: Largest |acceleration| (g): high-g accelerometers stop at ±200 g; raw counts are thousands.
MAX_ABS_ACC_G = 200.0
#: Largest |angular rate| (deg/s): MEMS gyroscopes stop at ±4000 deg/s; deg/s read as rad/s is 57x that.
MAX_ABS_GYRO_DPS = 10_000.0

FloatArray = npt.NDArray[np.float64]


class RecordingRejectedError(SensorError, ValueError):
    """A recording is not something the analysis can work on (too short, no time axis, values out of range).

    Attributes:
        source: the file (or other source) the recording came from.
        reason: the one-line reason, without the source.
    """

    def __init__(self, message: str, *, source: str, reason: str) -> None:
        super().__init__(message)
        self.source = source
        self.reason = reason

    def _fields(self) -> dict[str, Any]:
        return {"source": self.source, "reason": self.reason}


def _reject(source: str, reason: str) -> RecordingRejectedError:
    return RecordingRejectedError(f"{source}: {reason}", source=source, reason=reason)


def _time_problem(t: FloatArray) -> str | None:
    if not np.isfinite(t).all():
        return "the time column holds values that are not finite numbers"
    lo, hi = float(t.min()), float(t.max())
    if max(abs(lo), abs(hi)) > MAX_ABS_TIME_S:
        return (
            f"times reach {max(abs(lo), abs(hi)):.6g} s, beyond {MAX_ABS_TIME_S:.0e} s: the time column is "
            "not in seconds (milli-, micro- or nanoseconds?)"
        )
    if hi == lo:
        return f"all {t.size} times are {lo:g} s: the time column does not advance"
    if hi - lo > MAX_DURATION_S:
        return (
            f"the times span {(hi - lo) / 3600:.1f} h; a recording covers at most "
            f"{MAX_DURATION_S / 3600:.0f} h (a time column in milliseconds, or two recordings joined?)"
        )
    return None


def _value_problem(values: FloatArray, limit: float, unit: str, hint: str) -> str | None:
    magnitude = np.abs(values)
    if np.isinf(magnitude).any() or np.nanmax(magnitude, initial=0.0) > limit:
        row, axis = np.unravel_index(
            int(np.nanargmax(np.where(np.isnan(magnitude), -1.0, magnitude))), values.shape
        )
        name = ("ax", "ay", "az") if unit == "g" else ("gx", "gy", "gz")
        value = float(values[row, axis])
        return f"{name[axis]} = {value:.6g} {unit} at sample {row}, beyond ±{limit:g} {unit}: {hint}"
    return None


def check_recording(recording: Recording, source: str | Path) -> None:
    """Raise :class:`RecordingRejectedError` if ``recording`` is not analysable (see the module docstring).

    NaN values are allowed (the analysis drops those samples); infinities are not.
    """
    where = str(source)
    n = recording.n_samples
    if n < MIN_SAMPLES:
        raise _reject(
            where, f"only {n} sample{'s' if n != 1 else ''}; a recording needs at least {MIN_SAMPLES}"
        )
    problem = _time_problem(np.asarray(recording.time_s, dtype=np.float64)) or _value_problem(
        np.asarray(recording.accel_g, dtype=np.float64),
        MAX_ABS_ACC_G,
        "g",
        "not acceleration in g (raw counts? m/s^2 need --acc-units m/s2)",
    )
    if problem is None and recording.gyro_dps is not None:
        problem = _value_problem(
            np.asarray(recording.gyro_dps, dtype=np.float64),
            MAX_ABS_GYRO_DPS,
            "deg/s",
            "not an angular rate in deg/s (raw counts? degrees given as --gyro-units rad/s?)",
        )
    if problem is not None:
        raise _reject(where, problem)
