"""The samples bulk-load path: writer settings, recording order over several row groups, NULL gyro."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from hipsync.records import Recording, Side
from storage.db import WRITER_THREADS, connect, connect_readonly
from storage.reprocess import load_recording
from storage.writes import SourceInfo, write_session

# more than two DuckDB row groups (122,880 rows each), so a parallel or reordered load would show
N = 300_000


def _recording(rng: np.random.Generator, *, gyro: bool) -> Recording:
    t = np.arange(N) / 100.0
    t[1000:1010] = t[1000]  # repeated timestamps, as recorded
    t[200_000:200_005] -= 0.5  # and a clock step backwards
    return Recording(
        time_s=t,
        accel_g=rng.normal(size=(N, 3)),
        gyro_dps=rng.normal(scale=50.0, size=(N, 3)) if gyro else None,
        fs_hz=100.0,
        side=Side.RIGHT,
        profile="polar-verity-sense",
        started_at=datetime(2026, 11, 16, 7, 30, tzinfo=UTC),
    )


def test_writer_uses_the_configured_threads_and_readers_do_not(tmp_path: Path) -> None:
    db = tmp_path / "hipsync.duckdb"
    with connect(db) as con:
        assert con.execute("SELECT current_setting('threads')").fetchone() == (WRITER_THREADS,)
    with connect_readonly(db) as ro:
        row = ro.execute("SELECT current_setting('threads')").fetchone()
        assert row is not None and row[0] >= 1


def test_samples_come_back_in_recording_order(tmp_path: Path, rng: np.random.Generator) -> None:
    db = tmp_path / "hipsync.duckdb"
    recs = [_recording(rng, gyro=True), _recording(rng, gyro=False)]
    with connect(db) as con:
        ids = [
            write_session(
                con, SourceInfo(source="recording", content_sha256=f"{i:064x}"), rec, None
            ).session_id
            for i, rec in enumerate(recs)
        ]
    with connect(db) as con:
        for sid, rec in zip(ids, recs, strict=True):
            back = load_recording(con, sid)  # no ORDER BY: storage order must be the recording's
            # fixed point: microseconds, micro-g, milli-deg/s, so at most half a unit off
            np.testing.assert_allclose(back.time_s, rec.time_s, rtol=0, atol=0.51e-6)
            np.testing.assert_allclose(back.accel_g, rec.accel_g, rtol=0, atol=0.51e-6)
            if rec.gyro_dps is None:
                assert back.gyro_dps is None
                nulls = con.execute(
                    "SELECT count(*) FROM samples JOIN sessions USING (session_key) "
                    "WHERE session_id = ? AND gx_mdps IS NULL",
                    [sid],
                ).fetchone()
                assert nulls == (N,)
            else:
                assert back.gyro_dps is not None
                np.testing.assert_allclose(back.gyro_dps, rec.gyro_dps, rtol=0, atol=0.51e-3)
