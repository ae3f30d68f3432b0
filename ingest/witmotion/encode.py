"""Encoding WitMotion ``55 61`` data packets: what an emulated WT901BLE notifies (and round-trip tests)."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from ingest.witmotion.formats import FLAG_DATA, HEADER, PACKET_BYTES, SCALES


def encode_witmotion_packets(
    accel_g: npt.ArrayLike, gyro_dps: npt.ArrayLike, angle_deg: npt.ArrayLike | None = None
) -> bytes:
    """Encode n samples as n concatenated 20-byte ``55 61`` packets (what an emulated sensor notifies).

    Values are rounded to the nearest LSB and clipped to the int16 range (±16 g, ±2000 deg/s, ±180 deg).
    ``angle_deg`` defaults to zeros.

    Raises:
        ValueError: if the arrays are not (n, 3) of equal n.
    """
    acc = np.asarray(accel_g, dtype=np.float64)
    gyr = np.asarray(gyro_dps, dtype=np.float64)
    ang = np.zeros_like(acc) if angle_deg is None else np.asarray(angle_deg, dtype=np.float64)
    if acc.ndim != 2 or acc.shape[1] != 3 or gyr.shape != acc.shape or ang.shape != acc.shape:
        raise ValueError("accel_g, gyro_dps and angle_deg must all have shape (n, 3)")
    raw = np.clip(np.rint(np.hstack([acc, gyr, ang]) / SCALES), -32768, 32767).astype("<i2")
    out = np.empty((acc.shape[0], PACKET_BYTES), dtype=np.uint8)
    out[:, 0] = HEADER
    out[:, 1] = FLAG_DATA
    out[:, 2:] = raw.view(np.uint8).reshape(-1, 18)
    return out.tobytes()
