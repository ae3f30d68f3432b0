"""Fixed-point samples: units, NULLs for non-finite values, range errors, row-group batches, v_samples."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pytest

from flows.imports import import_file
from hipsync.records import Recording
from storage.db import connect, connect_readonly
from storage.read_api import open_readonly
from storage.reprocess import load_recording
from storage.samples import ROW_GROUP_ROWS, SampleRangeError, samples_table
from storage.writes import SourceInfo, file_sha256, write_session


def _rec(t: np.ndarray, acc: np.ndarray, gyro: np.ndarray | None, kit: Any) -> Recording:
    return Recording(time_s=t, accel_g=acc, gyro_dps=gyro, fs_hz=100.0, started_at=kit.STARTED_AT)


def test_units_are_microseconds_micro_g_and_milli_dps(kit: Any) -> None:
    t = np.array([0.0, 0.000001, 1234.5678905])
    acc = np.array([[1.0, -16.0, 0.0004882812], [0.000001, 0.0, 0.0], [2147.0, -2147.0, 0.5]])
    gyro = np.array([[2000.0, -0.061, 0.0], [0.0005, 0.0, 0.0], [1e6, -1e6, 0.0]])
    tbl = samples_table(_rec(t, acc, gyro, kit))
    assert tbl.schema.field("t_us").type == pa.int64() and tbl.schema.field("ax_ug").type == pa.int32()
    assert tbl.column("t_us").to_pylist() == [0, 1, 1_234_567_890]  # .5 us rounds to even
    assert tbl.column("ax_ug").to_pylist() == [1_000_000, 1, 2_147_000_000]
    assert tbl.column("az_ug").to_pylist() == [488, 0, 500_000]
    assert tbl.column("gx_mdps").to_pylist() == [2_000_000, 0, 1_000_000_000]  # 0.5 mdeg/s to even
    assert tbl.column("gy_mdps").to_pylist() == [-61, 0, -1_000_000_000]


def test_non_finite_values_are_stored_as_null_and_read_back_as_nan(db_file: Path, kit: Any) -> None:
    t = np.array([0.0, 0.01, np.nan, 0.03])
    acc = np.ones((4, 3))
    acc[1, 2] = np.inf
    gyro = np.zeros((4, 3))
    gyro[3, 0] = np.nan
    rec = _rec(t, acc, gyro, kit)
    with connect(db_file) as con:
        sid = write_session(
            con, SourceInfo(source="recording", content_sha256="n" * 64), rec, None
        ).session_id
        nulls = con.execute(
            "SELECT count(*) - count(t_us), count(*) - count(az_ug), count(*) - count(gx_mdps) FROM samples"
        ).fetchone()
        back = load_recording(con, sid)
    assert nulls == (1, 1, 1)
    np.testing.assert_array_equal(np.isnan(back.time_s), np.isnan(t))
    np.testing.assert_array_equal(np.isnan(back.accel_g), ~np.isfinite(acc))
    assert back.gyro_dps is not None
    np.testing.assert_array_equal(np.isnan(back.gyro_dps), np.isnan(gyro))


def test_a_value_beyond_the_column_is_a_clear_error(kit: Any) -> None:
    acc = np.zeros((3, 3))
    acc[2, 1] = 16384.0  # a raw ADC count read as g
    with pytest.raises(SampleRangeError, match=r"acceleration \(g\).*16384.*2147"):
        samples_table(_rec(np.arange(3) / 100, acc, None, kit))


def test_an_out_of_range_file_is_quarantined_and_left_as_it_is(tmp_path: Path, db_file: Path) -> None:
    csv = tmp_path / "counts.csv"
    csv.write_text("time,ax,ay,az\n0.00,0,0,16384\n0.01,0,0,16384\n0.02,12,-3,16380\n")
    before = file_sha256(csv)
    res = import_file(db_file, csv, started_at=None)
    assert res.status == "quarantined"
    assert res.reason is not None and "acceleration (g)" in res.reason and "2147" in res.reason
    assert file_sha256(csv) == before
    with connect_readonly(db_file) as con:
        assert con.execute("SELECT status, n_samples FROM sessions").fetchall() == [("quarantined", 0)]
        assert con.execute("SELECT count(*) FROM samples").fetchone() == (0,)


def test_the_arrow_table_comes_in_row_group_batches(rng: np.random.Generator, kit: Any) -> None:
    rec = kit.make_recording(rng, duration_s=3000.0)  # 300,000 samples: 3 row groups
    tbl = samples_table(rec)
    assert [b.num_rows for b in tbl.to_batches()] == [
        ROW_GROUP_ROWS,
        ROW_GROUP_ROWS,
        300_000 - 2 * ROW_GROUP_ROWS,
    ]


def test_v_samples_reads_in_seconds_g_and_dps(db_file: Path, rng: np.random.Generator, kit: Any) -> None:
    recs = [kit.make_recording(rng, duration_s=2.0), kit.make_recording(rng, duration_s=1.0, gyro=False)]
    with connect(db_file) as con:
        ids = [
            write_session(con, SourceInfo(source="recording", content_sha256=f"{i}" * 64), r, None).session_id
            for i, r in enumerate(recs)
        ]
    with open_readonly(db_file) as ro:
        for sid, rec in zip(ids, recs, strict=True):
            got = ro.execute(
                "SELECT t_s, ax_g, ay_g, az_g, gx_dps FROM v_samples WHERE session_id = ? ORDER BY t_s", [sid]
            ).fetchnumpy()
            np.testing.assert_allclose(got["t_s"], rec.time_s, rtol=0, atol=0.51e-6)
            acc = np.column_stack([got["ax_g"], got["ay_g"], got["az_g"]])
            np.testing.assert_allclose(acc, rec.accel_g, rtol=0, atol=0.51e-6)
            if rec.gyro_dps is None:
                assert np.ma.getmaskarray(got["gx_dps"]).all()
            else:
                np.testing.assert_allclose(got["gx_dps"], rec.gyro_dps[:, 0], rtol=0, atol=0.51e-3)
