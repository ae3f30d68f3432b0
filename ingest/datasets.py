"""Readers for the two public real-data formats used in development and tests.

- UCI "Physical Therapy Exercises" (Yurtman & Barshan): semicolon-separated text with header
  ``time index;acc_x;acc_y;acc_z;gyr_x;gyr_y;gyr_z;mag_x;mag_y;mag_z``; Xsens MTx at 25 Hz, acceleration in
  m/s^2 (including gravity), angular rate in rad/s. Time index n = 1, 2, ... so t = (n - 1) / 25 s.
- MEx (Wijekoon et al.) thigh accelerometer: CSV without header ``timestamp,x,y,z``, ISO 8601 timestamps
  (fraction sometimes missing), Axivity AX3 at 100 Hz, values in g, no gyroscope.

Either may come gzip-compressed (``.gz``, recognised by content). Both return a
:class:`hipsync.records.Recording` in g and deg/s with time in seconds from the first sample.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from hipsync.records import Recording
from ingest.errors import ColumnError
from ingest.files import open_text

STANDARD_GRAVITY_MS2 = 9.80665
UCI_FS_HZ = 25.0
MEX_FS_HZ = 100.0
_UCI_COLUMNS = ("time index", "acc_x", "acc_y", "acc_z", "gyr_x", "gyr_y", "gyr_z")


def is_uci_pt_file(path: Path) -> bool:
    """True when the first line is the UCI PT header."""
    with open_text(path, errors="replace") as fh:
        first = fh.readline(4096).strip().lower()  # bounded: one header line
    return first.startswith("time index;")


def is_mex_file(path: Path) -> bool:
    """True when the first line looks like a MEx row ``YYYY-MM-DD hh:mm:ss[.ffffff],x,y,z``."""
    with open_text(path, errors="replace") as fh:
        first = fh.readline(4096).strip()  # bounded: one header line
    parts = first.split(",")
    if len(parts) != 4:
        return False
    try:
        datetime.fromisoformat(parts[0])
        [float(v) for v in parts[1:]]
    except ValueError:
        return False
    return True


def read_uci_pt(path: Path | str) -> Recording:
    """Read a UCI PT ``*.txt`` file (25 Hz, m/s^2, rad/s) into a Recording in g and deg/s."""
    path = Path(path)
    with open_text(path) as fh:
        header = [h.strip().lower() for h in fh.readline().strip().split(";")]
        for col in _UCI_COLUMNS:
            if col not in header:
                raise ColumnError(f"{path}: UCI PT file lacks column {col!r}", column=col, path=path)
        idx = [header.index(c) for c in _UCI_COLUMNS]
        try:
            data = np.loadtxt(fh, delimiter=";", usecols=idx, ndmin=2)
        except ValueError as e:
            raise ColumnError(f"{path}: non-numeric value in UCI PT file ({e})", column="?", path=path) from e
    time_s = (data[:, 0] - 1.0) / UCI_FS_HZ
    return Recording(
        time_s=np.ascontiguousarray(time_s, dtype=np.float64),
        accel_g=np.ascontiguousarray(data[:, 1:4] / STANDARD_GRAVITY_MS2),
        gyro_dps=np.ascontiguousarray(np.degrees(data[:, 4:7])),
        fs_hz=UCI_FS_HZ,
        profile="xsens-mtx",
    )


def read_mex(path: Path | str) -> Recording:
    """Read a MEx thigh-accelerometer CSV (``timestamp,x,y,z``, g, 100 Hz) into a Recording."""
    path = Path(path)
    stamps: list[float] = []
    rows: list[tuple[float, float, float]] = []
    with open_text(path) as fh:
        for lineno, line in enumerate(fh, start=1):
            line = line.strip()
            if not line:
                continue
            parts = line.split(",")
            if len(parts) != 4:
                raise ColumnError(
                    f"{path}:{lineno}: expected 4 columns timestamp,x,y,z, got {len(parts)}",
                    column="timestamp,x,y,z",
                    path=path,
                )
            try:
                ts = datetime.fromisoformat(parts[0]).replace(tzinfo=UTC)
            except ValueError as e:
                raise ColumnError(f"{path}:{lineno}: bad timestamp {parts[0]!r}", column="timestamp") from e
            try:
                rows.append((float(parts[1]), float(parts[2]), float(parts[3])))
            except ValueError as e:
                raise ColumnError(f"{path}:{lineno}: non-numeric x/y/z", column="x,y,z", path=path) from e
            stamps.append(ts.timestamp())
    if not rows:
        raise ColumnError(f"{path}: no samples", column="timestamp", path=path)
    t = np.asarray(stamps, dtype=np.float64)
    return Recording(
        time_s=t - t[0],
        accel_g=np.asarray(rows, dtype=np.float64),
        gyro_dps=None,
        fs_hz=MEX_FS_HZ,
        profile="axivity-ax3",
        started_at=datetime.fromtimestamp(t[0], tz=UTC),
    )
