"""CSV/Parquet recording files: round trips, unit conversion, and every kind of bad input."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from hipsync.records import Recording
from ingest.errors import ColumnError
from ingest.files import (
    STANDARD_GRAVITY_MS2,
    RecordingFileError,
    detect_format,
    read_recording_file,
    write_recording_csv,
    write_recording_parquet,
)


def _recording(rng: np.random.Generator, n: int = 500, *, gyro: bool = True) -> Recording:
    t = np.cumsum(rng.uniform(0.005, 0.015, n))
    t[10] = t[9]  # a duplicate timestamp is allowed
    t[300:] += 2.0  # and a gap
    return Recording(
        time_s=t,
        accel_g=rng.normal(0, 1, (n, 3)),
        gyro_dps=rng.normal(0, 100, (n, 3)) if gyro else None,
    )


@pytest.mark.parametrize("writer", [write_recording_csv, write_recording_parquet])
@pytest.mark.parametrize("gyro", [True, False])
def test_round_trip_exact(tmp_path: Path, rng: np.random.Generator, writer: object, gyro: bool) -> None:
    rec = _recording(rng, gyro=gyro)
    path = tmp_path / ("r.csv" if writer is write_recording_csv else "r.parquet")
    writer(path, rec)  # type: ignore[operator]
    back = read_recording_file(path)
    np.testing.assert_array_equal(back.time_s, rec.time_s)
    np.testing.assert_array_equal(back.accel_g, rec.accel_g)
    if gyro:
        assert back.gyro_dps is not None and rec.gyro_dps is not None
        np.testing.assert_array_equal(back.gyro_dps, rec.gyro_dps)
    else:
        assert back.gyro_dps is None
    assert back.fs_hz is None


def test_csv_header_is_plain(tmp_path: Path, rng: np.random.Generator) -> None:
    path = write_recording_csv(tmp_path / "r.csv", _recording(rng, 20))
    assert path.read_text().splitlines()[0] == "time,ax,ay,az,gx,gy,gz"


@pytest.mark.parametrize("suffix", ["csv", "parquet"])
def test_unit_conversion(tmp_path: Path, rng: np.random.Generator, suffix: str) -> None:
    rec = _recording(rng, 50)
    path = tmp_path / f"r.{suffix}"
    writer = write_recording_csv if suffix == "csv" else write_recording_parquet
    writer(path, rec, acc_units="m/s2", gyro_units="rad/s")
    raw = pq.read_table(path) if suffix == "parquet" else None
    if raw is not None:
        np.testing.assert_allclose(raw.column("az").to_numpy(), rec.accel_g[:, 2] * STANDARD_GRAVITY_MS2)
        np.testing.assert_allclose(raw.column("gx").to_numpy(), np.radians(rec.gyro_dps[:, 0]))  # type: ignore[index]
    back = read_recording_file(path, acc_units="m/s2", gyro_units="rad/s")
    np.testing.assert_allclose(back.accel_g, rec.accel_g, rtol=1e-12)
    assert back.gyro_dps is not None and rec.gyro_dps is not None
    np.testing.assert_allclose(back.gyro_dps, rec.gyro_dps, rtol=1e-12)
    # Read with the wrong units, the numbers are off by exactly the conversion factors.
    wrong = read_recording_file(path)
    np.testing.assert_allclose(wrong.accel_g, rec.accel_g * STANDARD_GRAVITY_MS2, rtol=1e-12)


def test_hand_written_csv_units(tmp_path: Path) -> None:
    path = tmp_path / "m.csv"
    path.write_text("Time, AX ,ay,az,gx,gy,gz\n0,0,0,9.80665,0,0,3.141592653589793\n0.5,1,2,3,0,0,0\n")
    rec = read_recording_file(path, acc_units="m/s2", gyro_units="rad/s")
    np.testing.assert_allclose(rec.accel_g[0], [0, 0, 1.0])
    assert rec.gyro_dps is not None
    np.testing.assert_allclose(rec.gyro_dps[0], [0, 0, 180.0])
    np.testing.assert_array_equal(rec.time_s, [0.0, 0.5])


def test_semicolon_csv(tmp_path: Path) -> None:
    path = tmp_path / "s.csv"
    path.write_text("time;ax;ay;az\n0;0;0;1\n0.01;0;0;1\n")
    rec = read_recording_file(path)
    assert rec.n_samples == 2 and rec.gyro_dps is None


@pytest.mark.parametrize(
    ("text", "column", "match"),
    [
        ("t,ax,ay,az\n0,0,0,1\n", "t", r"unexpected column 't'.*found 't', 'ax', 'ay', 'az'"),
        ("time,ax,ay\n0,0,0\n", "az", r"missing column 'az'.*found 'time', 'ax', 'ay'"),
        ("time,ax,ay,az,gx,gy\n0,0,0,1,0,0\n", "gz", r"missing column 'gz'.*together"),
        ("0,0,0,1\n1,0,0,1\n", "time", "numbers, not column names"),
        ("time,ax,ay,az\n0,0,0,1\n0.1,0,x,1\n", "ay", r"non-numeric value 'x' in column 'ay' at line 3"),
        ("time,ax,ay,az\n0,0,0,1\n0.1,0,,1\n", "ay", r"empty cell in column 'ay' at line 3"),
        ("time,ax,ay,az\n0,0,0,1\n0.1,0,0,inf\n", "az", r"non-finite value inf in column 'az' at line 3"),
        ("time,ax,ay,az\n0,0,0,1\n0.1,nan,0,1\n", "ax", r"non-finite value nan in column 'ax' at line 3"),
        ("time,ax,ay,az\n0,0,0,1\n2,0,0,1\n1,0,0,1\n", "time", r"'time' goes backwards at line 4"),
    ],
)
def test_bad_csv(tmp_path: Path, text: str, column: str, match: str) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(text)
    with pytest.raises(ColumnError, match=match) as ei:
        read_recording_file(path)
    assert ei.value.column == column
    assert ei.value.path == path


def test_bad_parquet_columns_and_values(tmp_path: Path) -> None:
    path = tmp_path / "bad.parquet"
    pq.write_table(
        pa.table({"time": [0.0, 1.0], "acc_x": [0.0, 0.0], "ay": [0.0, 0.0], "az": [1.0, 1.0]}), path
    )
    with pytest.raises(ColumnError, match="unexpected column 'acc_x'") as ei:
        read_recording_file(path)
    assert ei.value.column == "acc_x"
    pq.write_table(pa.table({"time": [0.0, 1.0], "ax": ["0", "a"], "ay": [0.0, 0.0], "az": [1.0, 1.0]}), path)
    with pytest.raises(ColumnError, match="non-numeric value 'a' in column 'ax' at row 1"):
        read_recording_file(path)
    pq.write_table(
        pa.table({"time": [0.0, None], "ax": [0.0, 0.0], "ay": [0.0, 0.0], "az": [1.0, 1.0]}), path
    )
    with pytest.raises(ColumnError, match="empty cell in column 'time' at row 1"):
        read_recording_file(path)


def test_empty_and_unreadable(tmp_path: Path) -> None:
    path = tmp_path / "empty.csv"
    path.write_text("time,ax,ay,az\n")
    with pytest.raises(RecordingFileError, match="no data rows"):
        read_recording_file(path)
    broken = tmp_path / "broken.parquet"
    broken.write_bytes(b"PAR1" + b"\x00" * 20)
    assert detect_format(broken) == "parquet"
    with pytest.raises(RecordingFileError, match="Parquet"):
        read_recording_file(broken)
    with pytest.raises(RecordingFileError, match="cannot read"):
        read_recording_file(tmp_path / "missing.csv")
    with pytest.raises(ValueError, match="acc_units"):
        read_recording_file(path, acc_units="furlongs")


def test_real_dataset_formats_are_detected(real_data_dir: Path) -> None:
    uci = real_data_dir / "uci-pt" / "s1" / "e4" / "u3" / "test.txt.gz"
    assert detect_format(uci) == "uci-pt"
    rec = read_recording_file(uci)
    assert rec.gyro_dps is not None and rec.fs_hz == 25.0
    # Gravity dominates a mostly still thigh: mean |a| close to 1 g after the m/s^2 conversion.
    assert abs(float(np.median(np.linalg.norm(rec.accel_g, axis=1))) - 1.0) < 0.1
    mex = real_data_dir / "mex" / "01" / "04_act_2.csv.gz"
    assert detect_format(mex) == "mex"
    assert read_recording_file(mex).gyro_dps is None
