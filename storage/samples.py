"""Raw samples in the database: fixed-point integers on the way in, seconds, g and deg/s on the way out.

The ``samples`` table (migration 003) holds one row per sample under the session's integer
``session_key``, in recording order:

=========== ======= ===========================================================================
column      type    meaning
=========== ======= ===========================================================================
session_key INTEGER ``sessions.session_key``
t_us        BIGINT  microseconds on the session's time axis (``time_s * 1e6``, rounded)
a?_ug       INTEGER acceleration in micro-g, sensor frame (x, y, z)
g?_mdps     INTEGER angular rate in milli-deg/s, sensor frame; NULL for accelerometer-only sensors
=========== ======= ===========================================================================

Why integers: DuckDB bulk-loads and compresses integer columns about three times faster than FLOAT/DOUBLE
and stores them in half the space (``benchmarks/bench_ingest.py``), and the units are far finer than any
supported sensor's step (488 ug and 61 mdeg/s for 16 bits at +-16 g and +-2000 deg/s), so the round trip
changes a value by at most half a unit (0.5 ug, 0.5 mdeg/s, 0.5 us). Non-finite values are stored as NULL
and read back as NaN.

Order: a session's rows are stored in recording order (one ``INSERT ... SELECT`` from an Arrow table whose
batches DuckDB appends in order, ``preserve_insertion_order`` being on), and a scan filtered on
``session_key`` returns them in that order, which is the order to analyse even where timestamps repeat or
the clock stepped back.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import duckdb
import numpy as np
import pyarrow as pa

from hipsync.records import Recording
from storage.errors import StorageError

__all__ = [
    "MDPS_PER_DPS",
    "ROW_GROUP_ROWS",
    "SAMPLES_IN_UNITS_SQL",
    "UG_PER_G",
    "US_PER_S",
    "SampleArrays",
    "SampleRangeError",
    "insert_samples",
    "read_samples",
    "samples_table",
]

US_PER_S = 1_000_000
UG_PER_G = 1_000_000
MDPS_PER_DPS = 1_000
#: DuckDB's row group size. The Arrow table is cut into batches of this many rows so that each writer
#: thread can compress and write whole row groups of its own (one batch: one thread does all the work).
ROW_GROUP_ROWS = 122_880

_REGISTERED = "_hipsync_samples_in"  # a constant: registered Arrow tables are addressed by this name
_ACC = ("ax_ug", "ay_ug", "az_ug")
_GYRO = ("gx_mdps", "gy_mdps", "gz_mdps")

#: ``samples`` in seconds, g and deg/s with the session's ``session_id``: the body of the ``v_samples``
#: view and of the samples export. Division, not multiplication by 1e-6, so 1 ug reads back as exactly 1e-6.
SAMPLES_IN_UNITS_SQL = """
    SELECT se.session_id,
           s.t_us / 1e6    AS t_s,
           s.ax_ug / 1e6   AS ax_g,   s.ay_ug / 1e6   AS ay_g,   s.az_ug / 1e6   AS az_g,
           s.gx_mdps / 1e3 AS gx_dps, s.gy_mdps / 1e3 AS gy_dps, s.gz_mdps / 1e3 AS gz_dps
    FROM samples s JOIN sessions se USING (session_key)
"""


class SampleRangeError(StorageError, ValueError):
    """A value does not fit its fixed-point column (e.g. an acceleration beyond +-2147 g)."""


def _fixed_point(
    values: np.ndarray, per_unit: int, dtype: type[np.signedinteger[Any]], name: str
) -> pa.Array:
    """``values * per_unit`` rounded to ``dtype``; non-finite values become NULL."""
    scaled = np.rint(np.asarray(values, dtype=np.float64) * per_unit)
    finite = np.isfinite(scaled)
    all_finite = bool(finite.all())
    if not all_finite:
        scaled[~finite] = 0.0
    limits = np.iinfo(dtype)
    if scaled.size and (scaled.min() < limits.min or scaled.max() > limits.max):
        worst = float(np.abs(scaled).max()) / per_unit
        raise SampleRangeError(
            f"{name}: a value of magnitude {worst:.6g} does not fit the samples table "
            f"(at most {limits.max / per_unit:.6g}); the recording is not stored"
        )
    ints = np.ascontiguousarray(scaled.astype(dtype))
    # Array.from_buffers, not pa.array: pa.array on a NumPy array imports pandas (~2 s) on first use.
    validity = None if all_finite else pa.py_buffer(np.packbits(finite, bitorder="little"))
    return pa.Array.from_buffers(
        pa.from_numpy_dtype(ints.dtype),
        len(ints),
        [validity, pa.py_buffer(ints)],
        null_count=int(ints.size - np.count_nonzero(finite)),
    )


def samples_table(recording: Recording) -> pa.Table:
    """The recording as an Arrow table shaped like ``samples`` without ``session_key``, in row-group batches.

    Raises :class:`SampleRangeError` when a value does not fit its column.
    """
    n = recording.n_samples
    acc = np.asarray(recording.accel_g, dtype=np.float64)
    cols: dict[str, pa.Array] = {"t_us": _fixed_point(recording.time_s, US_PER_S, np.int64, "time (s)")}
    for i, name in enumerate(_ACC):
        cols[name] = _fixed_point(acc[:, i], UG_PER_G, np.int32, "acceleration (g)")
    if recording.gyro_dps is not None:
        gyr = np.asarray(recording.gyro_dps, dtype=np.float64)
        for i, name in enumerate(_GYRO):
            cols[name] = _fixed_point(gyr[:, i], MDPS_PER_DPS, np.int32, "angular rate (deg/s)")
    else:
        cols |= {name: pa.nulls(n, pa.int32()) for name in _GYRO}
    table = pa.table(cols)
    return pa.Table.from_batches(table.to_batches(max_chunksize=ROW_GROUP_ROWS), schema=table.schema)


def insert_samples(con: duckdb.DuckDBPyConnection, session_key: int, table: pa.Table) -> None:
    """Bulk-insert a :func:`samples_table` for one session: a single ``INSERT ... SELECT`` from Arrow."""
    con.register(_REGISTERED, table)
    try:
        con.execute(
            "INSERT INTO samples (session_key, t_us, ax_ug, ay_ug, az_ug, gx_mdps, gy_mdps, gz_mdps) "
            f"SELECT ?, t_us, ax_ug, ay_ug, az_ug, gx_mdps, gy_mdps, gz_mdps FROM {_REGISTERED}",
            [session_key],
        )
    finally:
        con.unregister(_REGISTERED)


@dataclass(frozen=True, slots=True)
class SampleArrays:
    """One session's samples: ``time_s`` (n,) in seconds, ``accel_g`` (n, 3) in g, ``gyro_dps`` (n, 3) in
    deg/s or ``None`` when every gyro value is NULL (accelerometer-only sensor). NULLs read as NaN."""

    time_s: np.ndarray
    accel_g: np.ndarray
    gyro_dps: np.ndarray | None


def _as_float(col: Any, per_unit: int) -> np.ndarray:
    if isinstance(col, np.ma.MaskedArray):
        return np.asarray(np.ma.filled(col.astype(np.float64), np.nan), dtype=np.float64) / per_unit
    return np.asarray(col, dtype=np.float64) / per_unit


def read_samples(
    con: duckdb.DuckDBPyConnection, session_key: int, *, order: Literal["stored", "time"] = "stored"
) -> SampleArrays:
    """The samples of one session, in stored (recording) order or sorted by time (stable)."""
    cols = con.execute(
        "SELECT t_us, ax_ug, ay_ug, az_ug, gx_mdps, gy_mdps, gz_mdps FROM samples WHERE session_key = ?",
        [session_key],
    ).fetchnumpy()
    time_s = _as_float(cols["t_us"], US_PER_S)
    accel = np.column_stack([_as_float(cols[c], UG_PER_G) for c in _ACC]).reshape(-1, 3)
    gyro_or_nan = np.column_stack([_as_float(cols[c], MDPS_PER_DPS) for c in _GYRO]).reshape(-1, 3)
    # an accelerometer-only sensor stores NULL gyro columns
    gyro = None if bool(np.isnan(gyro_or_nan).all()) else gyro_or_nan
    if order == "time":
        idx = np.argsort(time_s, kind="stable")
        time_s, accel = time_s[idx], accel[idx]
        gyro = None if gyro is None else gyro[idx]
    return SampleArrays(time_s=time_s, accel_g=accel, gyro_dps=gyro)
