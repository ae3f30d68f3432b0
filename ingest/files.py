"""Recording files at the edge: CSV and Parquet ``time,ax,ay,az[,gx,gy,gz]`` in, CSV/Parquet out.

Input columns (header names, any case, surrounding spaces ignored):

=========  ==============================================================================
``time``   seconds on the file's own time axis (kept as is: analysis times refer to it)
``ax..az`` acceleration, in g (default) or m/s^2 (``acc_units="m/s2"``), gravity included
``gx..gz`` optional angular rate, in deg/s (default) or rad/s (``gyro_units="rad/s"``)
=========  ==============================================================================

Handling, documented because cleaning is the analysis' job, not the reader's:

- duplicate timestamps and gaps are kept as they are; a time that goes *backwards* is an error
  (it means rows out of order or two files concatenated, which the analysis cannot undo);
- a missing, misspelt or unexpected column raises :class:`~ingest.errors.ColumnError` naming it and
  listing the columns found; the three gyro columns come all together or not at all;
- an empty cell, a non-numeric cell or a non-finite value (nan, inf) raises ``ColumnError`` with the
  column and the line (CSV, 1-based, header = line 1) or row (Parquet, 0-based);
- ``fs_hz`` is left ``None``: a file does not state its rate, and guessing it here would hide the
  irregularity the analysis must see.
- a gzip-compressed file (``FILE.csv.gz``, recognised by its magic bytes, not its name) is read as the file
  it holds; every format but Parquet and spools may come compressed.

:func:`read_recording_file` also recognises, by content, the two public real-data formats of
:mod:`ingest.datasets` (UCI PT, MEx) and hipsync spools, so ``hipsync analyze FILE`` takes any of them.
"""

from __future__ import annotations

import gzip
import io
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import IO, Any, Literal

import numpy as np
import numpy.typing as npt

from hipsync.records import Recording
from ingest.errors import ColumnError, SensorError

logger = logging.getLogger(__name__)

__all__ = [
    "ACC_COLUMNS",
    "GYRO_COLUMNS",
    "STANDARD_GRAVITY_MS2",
    "TIME_COLUMN",
    "AccUnits",
    "FileFormat",
    "GyroUnits",
    "RecordingFileError",
    "detect_format",
    "open_binary",
    "open_text",
    "read_recording_file",
    "write_recording_csv",
    "write_recording_parquet",
]

STANDARD_GRAVITY_MS2 = 9.80665  # m/s^2 per g (CGPM 1901)
TIME_COLUMN = "time"
ACC_COLUMNS = ("ax", "ay", "az")
GYRO_COLUMNS = ("gx", "gy", "gz")
_ALL_COLUMNS = (TIME_COLUMN, *ACC_COLUMNS, *GYRO_COLUMNS)

AccUnits = Literal["g", "m/s2"]
GyroUnits = Literal["dps", "rad/s"]
FileFormat = Literal["csv", "parquet", "spool", "uci-pt", "mex"]

_ACC_SCALE = {"g": 1.0, "m/s2": 1.0 / STANDARD_GRAVITY_MS2, "m/s^2": 1.0 / STANDARD_GRAVITY_MS2}
_GYRO_SCALE = {"dps": 1.0, "deg/s": 1.0, "rad/s": float(np.degrees(1.0))}
_PARQUET_MAGIC = b"PAR1"
_GZIP_MAGIC = b"\x1f\x8b"

FloatArray = npt.NDArray[np.float64]


class RecordingFileError(SensorError, ValueError):
    """A recording file cannot be read for a reason other than one column (format, empty, I/O).

    Attributes:
        path: the file.
    """

    def __init__(self, message: str, *, path: Path | str) -> None:
        super().__init__(message)
        self.path = Path(path)

    def _fields(self) -> dict[str, Any]:
        return {"path": self.path}


def is_gzip(path: Path | str) -> bool:
    """True when the file starts with gzip's magic bytes."""
    with Path(path).open("rb") as f:
        return f.read(len(_GZIP_MAGIC)) == _GZIP_MAGIC


def open_binary(path: Path | str) -> IO[bytes]:
    """Open a file for reading bytes, decompressing it on the fly when it is gzip-compressed."""
    path = Path(path)
    if is_gzip(path):
        return gzip.GzipFile(path, "rb")  # type: ignore[return-value]  # a GzipFile is a binary IO
    return path.open("rb")


def open_text(path: Path | str, *, errors: str = "strict") -> IO[str]:
    """Open a UTF-8 text file for reading, decompressing it on the fly when it is gzip-compressed."""
    return io.TextIOWrapper(open_binary(path), encoding="utf-8", errors=errors)


def detect_format(path: Path | str) -> FileFormat:
    """The file's format from its first bytes (not its name): spool, parquet, UCI PT, MEx or CSV."""
    from ingest import datasets
    from ingest.spool.format import MAGIC as SPOOL_MAGIC

    path = Path(path)
    try:
        with open_binary(path) as f:
            head = f.read(max(len(SPOOL_MAGIC), len(_PARQUET_MAGIC)))
    except (OSError, EOFError) as e:
        raise RecordingFileError(f"cannot read {path}: {e}", path=path) from e
    if head.startswith(SPOOL_MAGIC):
        return "spool"
    if head.startswith(_PARQUET_MAGIC):
        return "parquet"
    if datasets.is_uci_pt_file(path):
        return "uci-pt"
    if datasets.is_mex_file(path):
        return "mex"
    return "csv"


def read_recording_file(
    path: Path | str,
    acc_units: AccUnits | str = "g",
    gyro_units: GyroUnits | str = "dps",
    *,
    file_format: FileFormat | None = None,
) -> Recording:
    """Read a recording file into g and deg/s.

    Args:
        path: a CSV or Parquet file with ``time,ax,ay,az[,gx,gy,gz]``, or a spool, UCI PT or MEx file.
        acc_units: units of ``ax..az`` in CSV/Parquet: ``"g"`` or ``"m/s2"``.
        gyro_units: units of ``gx..gz`` in CSV/Parquet: ``"dps"`` or ``"rad/s"``.
        file_format: skip detection (default: detected from the file's first bytes).

    Raises:
        ColumnError: a column is missing, unexpected, non-numeric, empty or non-finite; or time goes back.
        RecordingFileError: unreadable file, no data rows, corrupt Parquet.
        SpoolError: a spool that cannot be read.
        ValueError: unknown ``acc_units``/``gyro_units``.
    """
    path = Path(path)
    if acc_units not in _ACC_SCALE:
        raise ValueError(f"unknown acc_units {acc_units!r}; use 'g' or 'm/s2'")
    if gyro_units not in _GYRO_SCALE:
        raise ValueError(f"unknown gyro_units {gyro_units!r}; use 'dps' or 'rad/s'")
    fmt = file_format or detect_format(path)
    if fmt in ("spool", "uci-pt", "mex") and (acc_units != "g" or gyro_units != "dps"):
        # These formats state their own units; a caller's units apply to CSV/Parquet only.
        logger.warning("%s is a %s file with known units; acc/gyro units options ignored", path, fmt)
    if fmt == "spool":
        from ingest.spool.decode import spool_to_recording
        from ingest.spool.reader import read_spool

        return spool_to_recording(read_spool(path))
    if fmt == "uci-pt":
        from ingest.datasets import read_uci_pt

        return read_uci_pt(path)
    if fmt == "mex":
        from ingest.datasets import read_mex

        return read_mex(path)
    table = _read_parquet(path) if fmt == "parquet" else _read_csv(path)
    return _table_to_recording(table, path, fmt, _ACC_SCALE[acc_units], _GYRO_SCALE[gyro_units])


def _read_csv(path: Path) -> Any:
    import pyarrow as pa
    import pyarrow.csv as pacsv

    try:
        with open_binary(path) as f:
            return pacsv.read_csv(
                f,
                parse_options=pacsv.ParseOptions(delimiter=_sniff_delimiter(path)),
                # Only a truly empty cell is missing; "nan"/"NA" are values (non-finite / non-numeric).
                convert_options=pacsv.ConvertOptions(null_values=[""], strings_can_be_null=False),
            )
    except pa.ArrowInvalid as e:
        raise RecordingFileError(f"{path}: not a readable CSV file ({e})", path=path) from e
    except (OSError, EOFError) as e:
        raise RecordingFileError(f"cannot read {path}: {e}", path=path) from e


def _sniff_delimiter(path: Path) -> str:
    # Spreadsheet exports in many locales use ';' (and some tab); the header line tells which.
    with open_text(path, errors="replace") as f:
        first = f.readline()
    counts = {d: first.count(d) for d in (",", ";", "\t")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


def _read_parquet(path: Path) -> Any:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        return pq.read_table(path)
    except (pa.ArrowInvalid, OSError) as e:
        raise RecordingFileError(f"{path}: not a readable Parquet file ({e})", path=path) from e


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _where(fmt: str, row: int) -> str:
    return f"line {row + 2}" if fmt == "csv" else f"row {row}"


def _check_columns(found: Sequence[str], path: Path) -> dict[str, str]:
    """The columns by normalised name (``time``, ``ax`` ...); raises :class:`ColumnError` for a header of
    numbers, an unexpected or a missing column, or gyro columns that do not come all three together."""
    by_key = {n.strip().lower(): n for n in found}
    found_txt = ", ".join(repr(n) for n in found) or "none"
    expected_txt = "time, ax, ay, az and optionally gx, gy, gz"
    if found and all(_is_number(n) for n in found):
        raise ColumnError(
            f"{path}: the first line holds numbers, not column names; expected a header line with "
            f"{expected_txt}",
            column=TIME_COLUMN,
            path=path,
        )
    unexpected = next((key for key in by_key if key not in _ALL_COLUMNS), None)
    if unexpected is not None:
        raise ColumnError(
            f"{path}: unexpected column {unexpected!r}; expected {expected_txt}; found {found_txt}",
            column=unexpected,
            path=path,
        )
    missing = next((col for col in (TIME_COLUMN, *ACC_COLUMNS) if col not in by_key), None)
    if missing is not None:
        raise ColumnError(
            f"{path}: missing column {missing!r}; expected {expected_txt}; found {found_txt}",
            column=missing,
            path=path,
        )
    gyro_present = [c for c in GYRO_COLUMNS if c in by_key]
    if gyro_present and len(gyro_present) != len(GYRO_COLUMNS):
        missing = next(c for c in GYRO_COLUMNS if c not in by_key)
        raise ColumnError(
            f"{path}: missing column {missing!r} (gyro columns gx, gy, gz come together); found {found_txt}",
            column=missing,
            path=path,
        )
    return by_key


def _check_time_order(time_s: FloatArray, path: Path, fmt: str) -> None:
    """Time may repeat and jump, never go back (rows out of order or two files concatenated)."""
    back = np.flatnonzero(np.diff(time_s) < 0)
    if back.size:
        i = int(back[0]) + 1
        raise ColumnError(
            f"{path}: column 'time' goes backwards at {_where(fmt, i)} ({time_s[i - 1]!r} -> {time_s[i]!r}); "
            "rows must be in time order (duplicates and gaps are allowed)",
            column=TIME_COLUMN,
            path=path,
        )


def _table_to_recording(table: Any, path: Path, fmt: str, acc_scale: float, gyro_scale: float) -> Recording:
    by_key = _check_columns([str(n) for n in table.column_names], path)
    if table.num_rows == 0:
        raise RecordingFileError(f"{path}: no data rows", path=path)

    def column(name: str) -> FloatArray:
        return _numeric_column(table.column(by_key[name]), name, path, fmt)

    time_s = column(TIME_COLUMN)
    _check_time_order(time_s, path, fmt)
    has_gyro = GYRO_COLUMNS[0] in by_key
    accel_g = np.column_stack([column(c) for c in ACC_COLUMNS]) * acc_scale
    gyro_dps = np.column_stack([column(c) for c in GYRO_COLUMNS]) * gyro_scale if has_gyro else None
    logger.debug("read %d rows from %s (gyro: %s)", time_s.size, path, has_gyro)
    return Recording(time_s=time_s, accel_g=accel_g, gyro_dps=gyro_dps, profile=f"file-{fmt}")


def _numeric_column(col: Any, name: str, path: Path, fmt: str) -> FloatArray:
    import pyarrow as pa
    import pyarrow.compute as pc

    if col.null_count:
        i = int(np.flatnonzero(col.is_null().to_numpy(zero_copy_only=False))[0])
        raise ColumnError(
            f"{path}: empty cell in column {name!r} at {_where(fmt, i)}", column=name, path=path
        )
    try:
        values = np.asarray(pc.cast(col, pa.float64()).to_numpy(), dtype=np.float64)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        cells = col.to_pylist()
        for i, cell in enumerate(cells):
            if cell is None or (isinstance(cell, str) and not cell.strip()):
                raise ColumnError(
                    f"{path}: empty cell in column {name!r} at {_where(fmt, i)}", column=name, path=path
                ) from None
            try:
                float(cell)
            except (TypeError, ValueError):
                raise ColumnError(
                    f"{path}: non-numeric value {cell!r} in column {name!r} at {_where(fmt, i)}",
                    column=name,
                    path=path,
                ) from None
        raise ColumnError(
            f"{path}: column {name!r} has type {col.type}, not a number", column=name, path=path
        ) from None
    bad = np.flatnonzero(~np.isfinite(values))
    if bad.size:
        i = int(bad[0])
        raise ColumnError(
            f"{path}: non-finite value {float(values[i])!r} in column {name!r} at {_where(fmt, i)}",
            column=name,
            path=path,
        )
    return values


def _recording_table(recording: Recording, acc_units: str, gyro_units: str) -> Any:
    import pyarrow as pa

    if acc_units not in _ACC_SCALE:
        raise ValueError(f"unknown acc_units {acc_units!r}; use 'g' or 'm/s2'")
    if gyro_units not in _GYRO_SCALE:
        raise ValueError(f"unknown gyro_units {gyro_units!r}; use 'dps' or 'rad/s'")
    cols: dict[str, FloatArray] = {TIME_COLUMN: np.asarray(recording.time_s, dtype=np.float64)}
    acc = np.asarray(recording.accel_g, dtype=np.float64) / _ACC_SCALE[acc_units]
    for i, c in enumerate(ACC_COLUMNS):
        cols[c] = np.ascontiguousarray(acc[:, i])
    if recording.gyro_dps is not None:
        gyro = np.asarray(recording.gyro_dps, dtype=np.float64) / _GYRO_SCALE[gyro_units]
        for i, c in enumerate(GYRO_COLUMNS):
            cols[c] = np.ascontiguousarray(gyro[:, i])
    return pa.table(cols)


def write_recording_csv(
    path: Path | str,
    recording: Recording,
    *,
    acc_units: AccUnits | str = "g",
    gyro_units: GyroUnits | str = "dps",
) -> Path:
    """Write ``time,ax,ay,az[,gx,gy,gz]`` (gyro columns only when the recording has gyro).

    Values are written with full float64 precision, so :func:`read_recording_file` gives back the same
    numbers (up to the unit conversion when other units are chosen).
    """
    import pyarrow.csv as pacsv

    path = Path(path)
    table = _recording_table(recording, acc_units, gyro_units)
    # pyarrow quotes header names; write a plain header line ourselves so any tool reads it.
    with path.open("wb") as f:
        f.write((",".join(table.column_names) + "\n").encode("ascii"))
        pacsv.write_csv(table, f, write_options=pacsv.WriteOptions(include_header=False))
    return path


def write_recording_parquet(
    path: Path | str,
    recording: Recording,
    *,
    acc_units: AccUnits | str = "g",
    gyro_units: GyroUnits | str = "dps",
) -> Path:
    """Write the same columns as :func:`write_recording_csv` to a Parquet file."""
    import pyarrow.parquet as pq

    path = Path(path)
    pq.write_table(_recording_table(recording, acc_units, gyro_units), path)
    return path


def column_names(recording: Recording) -> Sequence[str]:
    """The columns :func:`write_recording_csv` writes for this recording."""
    return (TIME_COLUMN, *ACC_COLUMNS, *(GYRO_COLUMNS if recording.gyro_dps is not None else ()))
