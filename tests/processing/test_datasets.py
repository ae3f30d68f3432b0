"""ingest.datasets: readers for the two public real-data formats."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from ingest.datasets import is_mex_file, is_uci_pt_file, read_mex, read_uci_pt
from ingest.errors import ColumnError


def test_uci_reader_converts_units(tmp_path: Path) -> None:
    f = tmp_path / "u.txt"
    f.write_text(
        "time index;acc_x;acc_y;acc_z;gyr_x;gyr_y;gyr_z;mag_x;mag_y;mag_z\n"
        "1;0;0;9.80665;0;0;3.14159265;0;0;0\n"
        "2;9.80665;0;0;1;0;0;0;0;0\n"
    )
    assert is_uci_pt_file(f) and not is_mex_file(f)
    rec = read_uci_pt(f)
    assert rec.fs_hz == 25.0
    assert np.allclose(rec.time_s, [0.0, 0.04])
    assert np.allclose(rec.accel_g, [[0, 0, 1], [1, 0, 0]])
    assert np.allclose(rec.gyro_dps, [[0, 0, 180], [np.degrees(1), 0, 0]])  # type: ignore[arg-type]


def test_uci_reader_names_a_missing_column(tmp_path: Path) -> None:
    f = tmp_path / "u.txt"
    f.write_text("time index;acc_x;acc_y;acc_z;gyr_x;gyr_y\n1;0;0;0;0;0\n")
    with pytest.raises(ColumnError) as e:
        read_uci_pt(f)
    assert e.value.column == "gyr_z"


def test_mex_reader(tmp_path: Path) -> None:
    f = tmp_path / "m.csv"
    f.write_text(
        "2018-11-08 11:34:51.474000,0.1,0.2,0.97\n"
        "2018-11-08 11:34:51.484000,0.1,0.2,0.98\n"
        "2018-11-08 11:34:52,0,0,1\n"
    )
    assert is_mex_file(f) and not is_uci_pt_file(f)
    rec = read_mex(f)
    assert rec.fs_hz == 100.0 and rec.gyro_dps is None
    assert np.allclose(rec.time_s, [0.0, 0.01, 0.526])
    assert rec.started_at is not None and rec.started_at.year == 2018


def test_mex_reader_rejects_bad_rows(tmp_path: Path) -> None:
    f = tmp_path / "m.csv"
    f.write_text("2018-11-08 11:34:51.474000,0.1,0.2\n")
    with pytest.raises(ColumnError):
        read_mex(f)
    f.write_text("2018-11-08 11:34:51.474000,0.1,x,0.3\n")
    with pytest.raises(ColumnError):
        read_mex(f)


def test_readers_take_gzip_compressed_files(tmp_path: Path) -> None:
    import gzip

    from ingest.files import detect_format, read_recording_file

    rows = "2018-11-08 11:34:51.474000,0.1,0.2,0.97\n2018-11-08 11:34:51.484000,0.1,0.2,0.98\n"
    plain = tmp_path / "m.csv"
    plain.write_text(rows)
    packed = tmp_path / "m.csv.gz"
    packed.write_bytes(gzip.compress(rows.encode()))
    assert is_mex_file(packed) and detect_format(packed) == "mex"
    assert np.array_equal(read_mex(packed).accel_g, read_mex(plain).accel_g)
    assert np.array_equal(read_recording_file(packed).accel_g, read_mex(plain).accel_g)
    csv = tmp_path / "r.csv.gz"
    csv.write_bytes(gzip.compress(b"time,ax,ay,az\n0,0,0,1\n0.01,0,0.1,1\n"))
    assert detect_format(csv) == "csv"
    assert read_recording_file(csv).accel_g.shape == (2, 3)
